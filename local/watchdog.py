"""``python -m local.watchdog <state dir>``: reads child group ids from stdin (a
pipe from the runner); when the pipe closes (the runner exited, or was killed)
it stops those groups: SIGTERM, then SIGKILL after 5 s. A clean stop has
already stopped them, so then there is nothing to do."""

from __future__ import annotations

import os
import signal
import sys
import time


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the runner's to handle
    groups = []
    for line in sys.stdin:
        line = line.strip()
        if line.isdigit():
            groups.append(int(line))
    live = [g for g in groups if _alive(g)]
    for g in live:
        os.killpg(g, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(g) for g in live):
        time.sleep(0.1)
    for g in live:
        try:
            os.killpg(g, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
