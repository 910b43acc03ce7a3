"""Exactly once across instances: PostgreSQL advisory locks (mode ha).

Several app instances share one database in mode ha. A job that must run once
(a migration, a periodic job, draining an outbox) takes a named advisory lock
first: `exclusive(name)` waits for it (migrations: the second instance waits,
then finds nothing to do), `try_exclusive(name)` does not (periodic jobs: the
instance that loses simply skips this round). Session-level locks are released
when the block ends or the connection dies, so a killed instance never holds
one. On SQLite (mode single: one instance, one writer at a time) both are
plain blocks that always hold the "lock".

For rows, prefer `select_for_update(skip_locked=True)`: each instance claims
different rows of the same queue.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (the same on every instance and release)."""
    return zlib.crc32(b"clinic:" + name.encode()) - (1 << 31)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Wait for the named lock, hold it for the block."""
    if not _is_postgres():
        yield
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def try_exclusive(name: str) -> Iterator[bool]:
    """Hold the named lock for the block if nobody else does; yield whether we got it."""
    if not _is_postgres():
        yield True
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
