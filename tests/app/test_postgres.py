"""The app suite again on PostgreSQL (Amazon RDS path: DATABASE_URL).

Starts a throwaway cluster with initdb/pg_ctl in a temporary directory (as the
`postgres` user when running as root), runs `pytest tests/app` in a child
process with DATABASE_URL pointing at it, and stops the cluster. Skipped, with
the reason, when the PostgreSQL server binaries or psycopg are missing
(Debian: `apt-get install postgresql`; Python: `psycopg[binary]` from
requirements-dev.txt).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHILD_FLAG = "CLINIC_TESTS_ON_POSTGRES"


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.mark.skipif(os.environ.get(CHILD_FLAG) == "1", reason="already running on PostgreSQL")
def test_app_suite_on_postgresql():
    pg_bin = _pg_bin()
    if pg_bin is None or not (pg_bin / "initdb").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]' (requirements-dev.txt)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb refuses to run as root")

    # not under pytest's tmp_path: its parents are private to root, and the
    # cluster runs as `postgres`
    cluster = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if os.geteuid() == 0:
        shutil.chown(cluster, user="postgres")
    try:
        _run_on_cluster(pg_bin, cluster)
    finally:
        shutil.rmtree(cluster, ignore_errors=True)


def _run_on_cluster(pg_bin: Path, cluster: Path) -> None:
    run = {"capture_output": True, "text": True, "timeout": 120}
    port = _free_port()
    init = subprocess.run(_as_postgres([str(pg_bin / "initdb"), "-D", str(cluster), "-U", "postgres",
                                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]), **run)
    assert init.returncode == 0, init.stderr
    opts = f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "-D", str(cluster), "-l", str(cluster / "log"),
                                         "-o", opts, "-w", "start"]), **run)
    assert start.returncode == 0, start.stderr + (cluster / "log").read_text(errors="replace")
    try:
        env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/clinic", **{CHILD_FLAG: "1"})
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/app", "-q", "-p", "no:cacheprovider",
             "--deselect", "tests/app/test_postgres.py::test_app_suite_on_postgresql"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
        )
        tail = "\n".join((child.stdout + child.stderr).strip().splitlines()[-40:])
        assert child.returncode == 0, f"app suite failed on PostgreSQL:\n{tail}"
        assert " passed" in child.stdout
    finally:
        subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "-D", str(cluster), "-m", "fast", "stop"]), **run)


def test_child_really_runs_on_postgresql():
    if os.environ.get(CHILD_FLAG) != "1":
        pytest.skip("only meaningful inside the PostgreSQL run")
    from django.db import connection

    assert connection.vendor == "postgresql"
