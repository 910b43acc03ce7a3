"""Start and stop the real ``python -m local`` runner for tests, and check that
nothing it started is left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from local.ports import free_port

REPO = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children are in their own sessions, so walk ppids)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents[int(entry.name)] = ppid
    found, frontier = set(), {pid}
    while frontier:
        kids = {p for p, pp in parents.items() if pp in frontier} - found
        found |= kids
        frontier = kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Stack:
    proc: subprocess.Popen
    state_dir: Path
    app_port: int
    s3_port: int
    lines: list[str] = field(default_factory=list)
    url: str = ""
    password: str = ""
    seen_pids: set[int] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def output(self) -> str:
        return "\n".join(self.lines)

    def track(self) -> None:
        self.seen_pids |= descendants(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        """Signal the runner, wait, and return its exit code; asserts no child survives."""
        if self.proc.poll() is None:
            self.track()
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError(f"runner ignored {sig!r}:\n{self.output()}") from None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in self.seen_pids):
            time.sleep(0.1)
        left = sorted(p for p in self.seen_pids if alive(p))
        for pid in left:  # clean up before failing
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not left, f"processes left behind: {left}"
        return self.proc.returncode


def start(state_dir: Path, *args: str, timeout: float = 90) -> Stack:
    """Run the runner on free ports; returns once it printed its URL (or exited)."""
    app_port, s3_port = free_port(), free_port()
    while s3_port == app_port:
        s3_port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--state-dir", str(state_dir), "--app-port", str(app_port),
         "--s3-port", str(s3_port), *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stack = Stack(proc, state_dir, app_port, s3_port)
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            stack.lines.append(line.rstrip("\n"))
            if m := re.search(r"password (\S+)\)", line):
                stack.password = m.group(1)
            if line.startswith("Ready: "):
                stack.url = line.split()[1]
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout):
        stack.stop()
        raise AssertionError(f"the stack did not start in {timeout} s:\n{stack.output()}")
    if not stack.url:
        proc.wait(timeout=30)
        raise AssertionError(f"the stack exited ({proc.returncode}):\n{stack.output()}")
    stack.track()
    return stack
