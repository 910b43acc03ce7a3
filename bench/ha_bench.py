#!/usr/bin/env python
"""Benchmark: mode single against mode ha on this machine, and an app killed mid-load.

Starts both local shapes on free loopback ports, one after the other:
  * single: `python -m local` (one gunicorn, SQLite, moto S3, the worker),
  * ha:     `python -m local.ha` (nginx round-robin over two gunicorns on one
            throwaway PostgreSQL, the same moto S3 and worker),
and runs the same bounded load on each (local/ha_load.py: signed-in clients
creating tutors through the real form and opening the list; bounded count).
Then, on ha, the same load again while one app process is SIGKILLed after a
third of the operations. Prints throughput, p50/p95 and the ratio ha/single
(measured in this run), and for the kill run: operations, attempts retried,
operations failed after retries, confirmed records missing, duplicates.
Figures, never a failure (exit 0).

    .venv/bin/python bench/ha_bench.py [--clients 4] [--per-client 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from local.ha_load import LoadResult, run_load  # noqa: E402
from local.ports import free_port  # noqa: E402


class Runner:
    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.url = self.password = self.db = ""
        self.apps: dict[str, int] = {}
        self.lines: list[str] = []
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                if m := re.search(r"password (\S+)\)", line):
                    self.password = m.group(1)
                if m := re.match(r"app (\w) http://\S+ pid (\d+)", line):
                    self.apps[m.group(1)] = int(m.group(2))
                if m := re.match(r"db\s+(\S+)", line):
                    self.db = f"postgres://postgres@{m.group(1)}"
                if line.startswith("Ready: "):
                    self.url = line.split()[1].rstrip("/")
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(240)
        if not self.url:
            self.stop()
            raise SystemExit("could not start " + " ".join(argv) + ":\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def line(label: str, r: LoadResult) -> str:
    return (f"{label:<22} {r.succeeded:>5}/{r.operations:<5} {r.throughput:7.1f} ops/s   "
            f"p50 {r.percentile(50) * 1000:6.0f} ms   p95 {r.percentile(95) * 1000:6.0f} ms   "
            f"retried {r.failed_attempts:>3}   failed {r.failed_operations:>3}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--per-client", type=int, default=30)
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers per app process (both shapes)")
    args = p.parse_args()
    print(f">> {os.cpu_count()} CPUs; {args.clients} clients x {args.per_client} operations "
          "(GET form + POST tutor + GET list), loopback")
    load = {"clients": args.clients, "per_client": args.per_client}
    results = {}

    with tempfile.TemporaryDirectory() as state:
        single = Runner(["-m", "local", "--state-dir", state, "--app-port", str(free_port()),
                         "--s3-port", str(free_port()), "--workers", str(args.workers)])
        try:
            run_load(single.url, single.password, clients=2, per_client=3)  # warm-up
            results["single"] = run_load(single.url, single.password, **load)
        finally:
            single.stop()
    print(line("single (SQLite, 1 app)", results["single"]))

    ha = Runner(["-m", "local.ha", "--workers", str(args.workers)])
    try:
        run_load(ha.url, ha.password, clients=2, per_client=3)
        results["ha"] = run_load(ha.url, ha.password, **load)
        print(line("ha (PG, 2 apps, nginx)", results["ha"]))
        kill_at = max(1, (args.clients * args.per_client) // 3)
        killed_at: list[float] = []

        def kill(done: int) -> None:
            if done >= kill_at and not killed_at:
                killed_at.append(time.perf_counter())
                os.killpg(ha.apps["a"], signal.SIGKILL)

        killed = run_load(ha.url, ha.password, on_progress=kill, **load)
        print(line("ha, app a killed", killed))
        lost = duplicates = -1
        try:
            import psycopg

            with psycopg.connect(ha.db) as pg:
                rows = pg.execute("SELECT name, id FROM registry_tutor WHERE name LIKE %s",
                                  [f"Carga {killed.run} %"]).fetchall()
            ids: dict[str, list[int]] = {}
            for name, pk in rows:
                ids.setdefault(name, []).append(pk)
            lost = sum(1 for name, pk in killed.created.items() if pk not in ids.get(name, []))
            duplicates = sum(len(v) - 1 for v in ids.values())
        except Exception as error:  # noqa: BLE001 - a benchmark reports, never fails
            print(f"   (could not check the database: {error})")
        print(f"   kill after {kill_at} operations: {killed.failed_attempts} attempts retried by the clients, "
              f"{killed.failed_operations} operations failed after retries, {lost} confirmed records missing, "
              f"{duplicates} duplicates")
    finally:
        ha.stop()
    s, h = results["single"], results["ha"]
    if s.throughput:
        print(f">> ha/single throughput ratio {h.throughput / s.throughput:.2f}; "
              f"p95 ratio {h.percentile(95) / s.percentile(95):.2f} (same machine, same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
