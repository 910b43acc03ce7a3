"""Port checks: a clear message instead of a traceback when a port is taken."""

from __future__ import annotations

import socket


class PortInUse(Exception):
    def __init__(self, port: int, option: str):
        super().__init__(
            f"Port {port} is already in use (another make local?). Use {option} PORT to pick another one."
        )
        self.port = port
        self.option = option


def is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same options a server would use, so a TIME_WAIT leftover does not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free(host: str, ports: dict[str, int]) -> None:
    """``ports`` maps the command-line option to its port; raises PortInUse for the first busy one."""
    for option, port in ports.items():
        if not is_free(host, port):
            raise PortInUse(port, option)


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral port that is free right now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_listening(host: str, port: int, timeout: float, alive=lambda: True) -> bool:
    """True once something accepts connections on host:port."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False
