"""Moving a clinic from `single` to `ha`: SQLite -> PostgreSQL, counts and checksums verified.

A clinic seeded with seed_demo (tutors, animals, photos' metadata) plus users
in every role, audit entries, a session and a sign-in failure, on real SQLite,
copied by `copy_to_postgres` into a throwaway PostgreSQL cluster (Debian's
server binaries). The test then checks the copy on its own (psycopg and
sqlite3, not the command's word): every table's rows, a timestamp kept as it
was, sequences past the copied ids; a second copy is refused without touching
anything; a tampered row is caught by --verify-only; --replace restores it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
from local.pg import throwaway_postgres, why_unavailable  # noqa: E402

SEED_EXTRA = r"""
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from axes.models import AccessAttempt
from registry.models import Animal, AuditEntry
roles = list(Group.objects.order_by("name"))
assert roles, "setup_roles/migrations created no roles"
for i, group in enumerate(roles):
    user = User.objects.create_user(f"pessoa{i}", password="Senha-Muito-Forte-123", first_name="Açúcar", email=f"p{i}@ex.org")
    user.groups.add(group)
    for animal in Animal.objects.order_by("id")[:5]:
        AuditEntry.objects.create(object_type="animal", object_id=animal.id, action="update", field="nome",
                                  old_value=animal.name, new_value=animal.name + " Jr.", user=user, username=user.username)
AccessAttempt.objects.create(username="alguem", ip_address="203.0.113.9", user_agent="t", path_info="/entrar/", failures_since_start=2)
import datetime as dt
first = Animal.objects.order_by("id").first()
Animal.objects.filter(pk=first.pk).update(updated_at=dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
s = SessionStore(); s["x"] = 1; s.create()
print("seeded")
"""


def _manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(REPO / "clinic_app" / "manage.py"), *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    if check:
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[dict, Path]:
    if why_unavailable():
        pytest.skip(why_unavailable())
    data = tmp_path_factory.mktemp("single")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CLINIC_DB_SECRET_ID")}
    env.update(CLINIC_DATA_DIR=str(data), DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="clinic.settings")
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo", "--animals", "600", "--with-photos", "0.5", "--seed", "7")
    _manage(env, "shell", "-c", SEED_EXTRA)
    return env, data / "db" / "clinic.sqlite3"


# The search index (registry.search_index, issue 15) is not data: on SQLite it is
# FTS5 virtual tables (and their shadow tables), on PostgreSQL pg_trgm tables that
# the copy rebuilds from the copied rows. It is checked below by what it finds.
SEARCH_INDEX_TABLES = ("registry_animal_fts", "registry_tutor_fts")


def _sqlite_tables(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]
            for n in names
            if not n.startswith("sqlite_") and n != "django_migrations" and not n.startswith(SEARCH_INDEX_TABLES)
        }


def _assert_search_index_complete(url: str, db: Path) -> None:
    """PostgreSQL's search documents: one per animal and per tutor, each with its
    tutor's / animals' names, so a search finds every copied record."""
    import psycopg
    from registry.validators import fold

    with psycopg.connect(url) as pg, sqlite3.connect(db) as lite:
        for table, doc in (("registry_animal", "registry_animal_search"), ("registry_tutor", "registry_tutor_search")):
            assert pg.execute(f"SELECT COUNT(*) FROM {doc}").fetchone()[0] == \
                lite.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], doc
        missing = pg.execute(
            "SELECT COUNT(*) FROM registry_animal a JOIN registry_tutor t ON t.id = a.tutor_id "
            "LEFT JOIN registry_animal_search s ON s.id = a.id "
            "WHERE s.id IS NULL OR s.tutor <> registry_fold(t.name) OR s.name <> registry_fold(a.name)").fetchone()[0]
        assert missing == 0
        animal_id, name = lite.execute("SELECT id, name FROM registry_animal ORDER BY id DESC LIMIT 1").fetchone()
        found = [r[0] for r in pg.execute("SELECT id FROM registry_animal_search WHERE doc LIKE %s",
                                          ["%" + fold(name) + "%"]).fetchall()]
        assert animal_id in found


def test_copy_to_postgres_copies_everything_and_verifies(seeded):
    import psycopg

    env, db = seeded
    source_tables = _sqlite_tables(db)
    # The seed really covers what a clinic holds.
    for table in ("auth_user", "auth_user_groups", "auth_group", "registry_tutor", "registry_animal",
                  "registry_photo", "registry_auditentry", "axes_accessattempt", "django_session"):
        assert source_tables[table] > 0, table
    with throwaway_postgres() as url:
        ha_env = dict(env, DATABASE_URL=url)
        copied = _manage(ha_env, "copy_to_postgres", "--sqlite", str(db))
        assert "copied and verified" in copied.stdout
        # Every table of the SQLite file was compared (none forgotten by the enumeration).
        reported = {line.split()[1] for line in copied.stdout.splitlines() if line[:4] in ("OK  ", "DIFF")}
        assert set(source_tables) <= reported, set(source_tables) - reported

        with psycopg.connect(url) as pg, sqlite3.connect(db) as lite:
            for table, count in source_tables.items():
                assert pg.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table
            # Timestamps kept as they were (auto_now would have rewritten them to now).
            lite_ts = lite.execute("SELECT id, updated_at FROM registry_animal ORDER BY id LIMIT 1").fetchone()
            pg_ts = pg.execute("SELECT updated_at FROM registry_animal WHERE id = %s", [lite_ts[0]]).fetchone()[0]
            assert lite_ts[1].startswith("2020-01-02 03:04:05")
            assert pg_ts.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") == "2020-01-02 03:04:05"
            # Same password hashes: staff sign in with their passwords after the move.
            assert pg.execute("SELECT password FROM auth_user WHERE username='pessoa0'").fetchone()[0] == \
                lite.execute("SELECT password FROM auth_user WHERE username='pessoa0'").fetchone()[0]
            # Sequences continue after the copied ids: the next record does not collide.
            max_id = pg.execute("SELECT MAX(id) FROM registry_tutor").fetchone()[0]
            next_id = pg.execute("SELECT nextval(pg_get_serial_sequence('registry_tutor', 'id'))").fetchone()[0]
            assert next_id > max_id
        _assert_search_index_complete(url, db)

        # A second copy onto a clinic's data is refused and changes nothing.
        again = _manage(ha_env, "copy_to_postgres", "--sqlite", str(db), check=False)
        assert again.returncode != 0 and "already holds clinic data" in again.stderr
        assert "--replace" in again.stderr

        # A changed row is caught, by name.
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("UPDATE registry_animal SET name = name || 'x' WHERE id = (SELECT MIN(id) FROM registry_animal)")
        verify = _manage(ha_env, "copy_to_postgres", "--sqlite", str(db), "--verify-only", check=False)
        assert verify.returncode != 0 and "registry_animal" in verify.stderr
        assert "DIFF registry_animal" in verify.stdout

        # --replace puts the SQLite copy back and verifies it.
        _manage(ha_env, "copy_to_postgres", "--sqlite", str(db), "--replace")
        _manage(ha_env, "copy_to_postgres", "--sqlite", str(db), "--verify-only")
        _assert_search_index_complete(url, db)
        # The audit trail stays append-only after a copy (the guard is lifted only for the flush).
        with psycopg.connect(url, autocommit=True) as pg:
            for sql in ("UPDATE registry_auditentry SET new_value = 'x'", "DELETE FROM registry_auditentry",
                        "TRUNCATE registry_auditentry"):
                with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
                    pg.execute(sql)
            # once the ha database has served the clinic (a newer entry), --replace would erase its trail
            pg.execute("INSERT INTO registry_auditentry (object_type, object_id, action, field, old_value, "
                       "new_value, username, timestamp, redacted) VALUES ('user', 0, 'login', '', '', '', "
                       "'depois', now() + interval '1 minute', false)")
        again = _manage(ha_env, "copy_to_postgres", "--sqlite", str(db), "--replace", check=False)
        assert again.returncode != 0 and "newer than the SQLite copy" in again.stderr
        with psycopg.connect(url) as pg:
            assert pg.execute("SELECT COUNT(*) FROM registry_auditentry WHERE username = 'depois'").fetchone()[0] == 1


def test_copy_refuses_a_sqlite_behind_the_release_and_a_non_postgres_target(seeded, tmp_path):
    env, db = seeded
    not_pg = _manage(env, "copy_to_postgres", "--sqlite", str(db), check=False)
    assert not_pg.returncode != 0 and "not PostgreSQL" in not_pg.stderr
    behind = tmp_path / "behind.sqlite3"
    behind_env = dict(env, CLINIC_DATA_DIR=str(tmp_path / "d"))
    _manage(behind_env, "migrate", "registry", "0001", "--noinput", "-v0")
    (tmp_path / "d" / "db" / "clinic.sqlite3").rename(behind)
    with throwaway_postgres() as url:
        result = _manage(dict(env, DATABASE_URL=url), "copy_to_postgres", "--sqlite", str(behind), check=False)
        assert result.returncode != 0 and "behind this release" in result.stderr
