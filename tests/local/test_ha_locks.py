"""Once across instances (mode ha): migrations once per release, periodic jobs once per round.

Real PostgreSQL (a throwaway cluster), real Django processes: three instances
of a new release migrate an empty database at the same moment and all succeed,
each migration applied once; a job guarded by `try_exclusive` runs on exactly
one of two instances.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from local.pg import throwaway_postgres, why_unavailable  # noqa: E402

MANAGE = REPO / "clinic_app" / "manage.py"


def _env(url: str, tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CLINIC_DB_SECRET_ID",)}
    env.update(DATABASE_URL=url, CLINIC_DATA_DIR=str(tmp), DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="clinic.settings")
    return env


@pytest.fixture(scope="module")
def pg_url():
    if why_unavailable():
        pytest.skip(why_unavailable())
    with throwaway_postgres() as url:
        yield url


def test_concurrent_instances_migrate_once(pg_url, tmp_path):
    import psycopg

    env = _env(pg_url, tmp_path)
    procs = [subprocess.Popen([sys.executable, str(MANAGE), "migrate_locked"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n----\n".join(outputs)
    with psycopg.connect(pg_url) as pg:
        dupes = pg.execute("SELECT app, name, COUNT(*) FROM django_migrations GROUP BY app, name HAVING COUNT(*) > 1").fetchall()
        applied = pg.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'registry'").fetchone()[0]
    assert not dupes
    assert applied >= 3
    # Exactly one of them applied anything; the others found nothing to do.
    assert sum("Applying registry.0001_initial" in o for o in outputs) <= 1


HOLD = """
import time
from registry.locks import try_exclusive
with try_exclusive("deletion-outbox") as got:
    print("GOT" if got else "SKIPPED", flush=True)
    if got:
        time.sleep(4)
"""


def test_a_periodic_job_runs_on_one_instance_only(pg_url, tmp_path):
    env = _env(pg_url, tmp_path)
    subprocess.run([sys.executable, str(MANAGE), "migrate_locked"], env=env, cwd=REPO, check=True, capture_output=True)
    first = subprocess.Popen([sys.executable, str(MANAGE), "shell", "--no-imports", "-c", HOLD], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert first.stdout.readline().strip() == "GOT"
    second = subprocess.run([sys.executable, str(MANAGE), "shell", "--no-imports", "-c", HOLD], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert second.stdout.strip() == "SKIPPED", second.stdout + second.stderr
    first.wait(timeout=60)
    # Released with the block (or the connection): the next round can run.
    time.sleep(0.2)
    third = subprocess.run([sys.executable, str(MANAGE), "shell", "--no-imports", "-c", HOLD.replace("time.sleep(", "(")],
                           env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert third.stdout.strip() == "GOT", third.stdout + third.stderr
