"""A throwaway PostgreSQL cluster (Debian's server binaries), for the local HA run and tests.

initdb + pg_ctl in a temporary directory, as the `postgres` user when running
as root (initdb refuses root), listening on 127.0.0.1 on a free port, trust
authentication, fsync off. Stopped and removed on exit. No Docker.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .ports import free_port


class PostgresUnavailable(RuntimeError):
    """The server binaries (Debian: postgresql) or psycopg are missing."""


def pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def why_unavailable() -> str | None:
    binaries = pg_bin()
    if binaries is None or not (binaries / "initdb").exists():
        return "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (requirements-dev.txt)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb refuses to run as root"
    return None


@contextmanager
def throwaway_postgres(dbname: str = "clinic", max_connections: int = 100, password: str | None = None) -> Iterator[str]:
    """Yield a DATABASE_URL of an empty database on a fresh cluster.

    With `password`, TCP connections need a password (scram-sha-256) and the
    URL carries the superuser's; the unix socket (setup only) stays trusted.
    """
    reason = why_unavailable()
    if reason:
        raise PostgresUnavailable(reason)
    binaries = pg_bin()
    cluster = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if os.geteuid() == 0:
        shutil.chown(cluster, user="postgres")
    run = {"capture_output": True, "text": True, "timeout": 120}
    port = free_port()
    try:
        init = subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(cluster), "-U", "postgres",
                                            "--auth-local=trust",
                                            f"--auth-host={'scram-sha-256' if password else 'trust'}",
                                            "--encoding=UTF8", "--locale=C.UTF-8"]), **run)
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr}")
        opts = (f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                f"-c max_connections={max_connections}")
        start = subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(cluster), "-l", str(cluster / "log"),
                                             "-o", opts, "-w", "start"]), **run)
        if start.returncode:
            raise RuntimeError(f"pg_ctl start failed: {start.stderr}{(cluster / 'log').read_text(errors='replace')}")
        try:
            create = subprocess.run(_as_postgres([str(binaries / "createdb"), "-h", str(cluster), "-p", str(port),
                                                  "-U", "postgres", dbname]), **run)
            if create.returncode:
                raise RuntimeError(f"createdb failed: {create.stderr}")
            if password:
                sql = "ALTER ROLE postgres PASSWORD '" + password.replace("'", "''") + "'"
                alter = subprocess.run(_as_postgres([str(binaries / "psql"), "-h", str(cluster), "-p", str(port),
                                                     "-U", "postgres", "-d", dbname, "-c", sql]), **run)
                if alter.returncode:
                    raise RuntimeError(f"setting the password failed: {alter.stderr}")
            user = f"postgres:{password}" if password else "postgres"
            yield f"postgres://{user}@127.0.0.1:{port}/{dbname}"
        finally:
            subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(cluster), "-m", "fast", "stop"]), **run)
    finally:
        shutil.rmtree(cluster, ignore_errors=True)
