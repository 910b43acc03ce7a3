"""The app suite again on PostgreSQL (Amazon RDS path: DATABASE_URL).

Starts a throwaway cluster (local/pg.py: initdb/pg_ctl in a temporary directory,
as the `postgres` user when running as root), runs `pytest tests/app` in a child
process with DATABASE_URL pointing at it, and stops the cluster. Skipped, with
the reason, when the PostgreSQL server binaries or psycopg are missing
(Debian: `apt-get install postgresql`; Python: `psycopg[binary]` from
requirements-dev.txt).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local import pg

REPO = Path(__file__).resolve().parents[2]
CHILD_FLAG = "CLINIC_TESTS_ON_POSTGRES"


@pytest.mark.skipif(os.environ.get(CHILD_FLAG) == "1", reason="already running on PostgreSQL")
def test_app_suite_on_postgresql():
    reason = pg.why_unavailable()
    if reason:
        pytest.skip(reason)
    with pg.throwaway_postgres() as url:
        env = dict(os.environ, DATABASE_URL=url, **{CHILD_FLAG: "1"})
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/app", "-q", "-p", "no:cacheprovider",
             "--deselect", "tests/app/test_postgres.py::test_app_suite_on_postgresql"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
        )
    tail = "\n".join((child.stdout + child.stderr).strip().splitlines()[-40:])
    assert child.returncode == 0, f"app suite failed on PostgreSQL:\n{tail}"
    assert " passed" in child.stdout


def test_child_really_runs_on_postgresql():
    if os.environ.get(CHILD_FLAG) != "1":
        pytest.skip("only meaningful inside the PostgreSQL run")
    from django.db import connection

    assert connection.vendor == "postgresql"
