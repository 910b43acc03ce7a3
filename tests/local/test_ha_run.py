"""Mode ha on one machine (`python -m local.ha`): two app processes on one PostgreSQL
behind nginx round-robin, the same local S3 and worker.

The end-to-end smoke (scripts/smoke.py) passes through it; both apps serve;
and killing one app process (SIGKILL to its whole process group, as an
instance or a zone going away) in the middle of a bounded load run loses no
record and fails no operation that a retry does not save: sessions live in the
database, so the other app carries on with the same signed-in users.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
from local.ha_load import run_load  # noqa: E402
from local.pg import why_unavailable  # noqa: E402
from tests.local.stack import alive, descendants  # noqa: E402


class HaRun:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "local.ha"], cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self.apps: dict[str, int] = {}
        self.url = self.password = self.db = self.logs = ""
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if m := re.match(r"app (\w) http://\S+ pid (\d+)", line):
                    self.apps[m.group(1)] = int(m.group(2))
                if m := re.search(r"password (\S+)\)", line):
                    self.password = m.group(1)
                if m := re.match(r"db\s+(\S+)", line):
                    self.db = f"postgres://postgres@{m.group(1)}"
                if m := re.match(r"logs\s+(\S+)", line):
                    self.logs = m.group(1)
                if line.startswith("Ready: "):
                    self.url = line.split()[1].rstrip("/")
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(180) or not self.url:
            self.stop()
            raise AssertionError("local.ha did not start:\n" + "\n".join(self.lines))
        self.pids = descendants(self.proc.pid)

    def stop(self) -> int:
        self.pids = getattr(self, "pids", set()) | descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in self.pids):
            time.sleep(0.1)
        left = [p for p in self.pids if alive(p)]
        assert not left, f"processes left behind: {left}"
        return self.proc.returncode


@pytest.fixture(scope="module")
def ha():
    if why_unavailable():
        pytest.skip(why_unavailable())
    run = HaRun()
    yield run
    assert run.stop() == 0


def test_smoke_passes_on_the_local_ha_run(ha):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PASSWORD=ha.password, PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, "-m", "scripts.smoke", "--url", ha.url, "--allow-http", "--processing-timeout", "60"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke passed in" in result.stdout
    # Round-robin: both app processes served part of it.
    for name in ("a", "b"):
        log = Path(ha.logs) / f"app-{name}.log"
        assert re.search(r'"(GET|POST) /', log.read_text(errors="replace")), f"app {name} served nothing"


def test_killing_one_app_mid_load_loses_nothing_and_fails_nothing_a_retry_does_not_save(ha):
    import psycopg

    assert set(ha.apps) == {"a", "b"}
    killed = threading.Event()

    def kill_a(done: int) -> None:
        if done >= 25 and not killed.is_set():
            killed.set()
            os.killpg(ha.apps["a"], signal.SIGKILL)  # the app and all its workers, mid-request

    result = run_load(ha.url, ha.password, clients=4, per_client=20, retries=3, on_progress=kill_a)
    assert killed.is_set()
    assert not alive(ha.apps["a"])
    assert result.operations == 80
    assert result.failed_operations == 0, result.errors
    assert result.succeeded == 80
    with psycopg.connect(ha.db) as pg:
        rows = pg.execute("SELECT name, id FROM registry_tutor WHERE name LIKE %s", [f"Carga {result.run} %"]).fetchall()
    stored: dict[str, list[int]] = {}
    for name, pk in rows:
        stored.setdefault(name, []).append(pk)
    # No data lost: every tutor the app confirmed is stored, under the id it answered.
    for name, pk in result.created.items():
        assert pk in stored.get(name, []), f"{name} (id {pk}) confirmed but not stored"
    # A duplicate can only come from a retried attempt whose first try committed.
    duplicates = sum(len(ids) - 1 for ids in stored.values())
    assert duplicates <= result.failed_attempts
    print(f"\nkill run: {result.operations} ops, {result.failed_attempts} attempts retried, "
          f"{result.failed_operations} failed, {duplicates} duplicates, p95 {result.percentile(95) * 1000:.0f} ms")
