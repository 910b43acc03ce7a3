"""Child processes, each in its own process group so it can be stopped with
everything it spawned (gunicorn's workers, moto's threads), and tied to the
runner's life three ways:

* PR_SET_PDEATHSIG (Linux prctl via ctypes): a direct child gets SIGKILL the
  moment the runner dies, even by kill -9;
* a watchdog process (``local.watchdog``) holding a pipe from the runner: when
  the runner dies the pipe closes and the watchdog kills every child *group*
  (grandchildren such as gunicorn's workers included);
* a record of the groups in the state directory (``run.json``): a start finds
  the groups an earlier run of the same state directory left behind (runner and
  watchdog both killed) and stops them. Every child carries
  ``CLINIC_LOCAL_STATE=<state dir>`` in its environment; only processes with
  that tag are ever signalled.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TAG = "CLINIC_LOCAL_STATE"
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int):
    def preexec():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the watchdog still covers it
            pass
        if os.getppid() != parent:  # the runner died before prctl took effect
            os._exit(1)
    return preexec


class Child:
    def __init__(self, name: str, argv: list[str], *, env: dict, cwd: Path, log_path: Path, state_dir: Path | None = None,
                 registry: Registry | None = None):
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # closed in stop()
        if state_dir is not None:
            env = dict(env, **{TAG: str(state_dir)})
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent(os.getpid()),
        )
        if registry is not None:
            registry.add(self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the whole group, SIGKILL after ``timeout``; returns the exit code."""
        if self.alive():
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Anything the child left behind in its group goes too.
        _signal_group(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --- tagged processes ---------------------------------------------------------

def tagged(state_dir: Path) -> dict[int, int]:
    """pid -> pgid of every live process tagged with this state directory."""
    want = f"{TAG}={state_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if want in environ and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[3])
    return found


def stop_stale(state_dir: Path, timeout: float = 5.0) -> int:
    """Stop what an earlier run of this state directory left running; returns how many."""
    left = tagged(state_dir)
    if not left:
        return 0
    for pgid in set(left.values()):
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and tagged(state_dir):
        time.sleep(0.1)
    for pid in tagged(state_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(left)


class Registry:
    """The runner's record of its child groups: run.json in the state directory
    and a pipe to the watchdog (which kills the groups if the runner dies)."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "run.json"
        self.groups: list[int] = []
        read_end, self._write = os.pipe()
        self.watchdog = subprocess.Popen(
            [sys.executable, "-m", "local.watchdog", str(state_dir)], stdin=read_end,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1])])),
        )
        os.close(read_end)
        self._save()

    def add(self, pgid: int) -> None:
        self.groups.append(pgid)
        os.write(self._write, f"{pgid}\n".encode())
        self._save()

    def _save(self) -> None:
        self.path.write_text(json.dumps({"runner": os.getpid(), "watchdog": self.watchdog.pid,
                                         "groups": self.groups}))

    def close(self) -> None:
        """After a clean stop: the watchdog finds nothing left and exits."""
        try:
            os.close(self._write)
        except OSError:
            pass
        try:
            self.watchdog.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.watchdog.kill()
        self.path.unlink(missing_ok=True)
