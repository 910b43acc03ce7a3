"""The state directory (default .local/): what lives where, secrets created once,
and moving old state aside (never deleting it)."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class State:
    root: Path

    @property
    def data_dir(self) -> Path:  # CLINIC_DATA_DIR, as on EC2
        return self.root / "data"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db" / "clinic.sqlite3"

    @property
    def s3_dir(self) -> Path:  # the bucket mirror
        return self.root / "s3"

    @property
    def static_root(self) -> Path:  # CLINIC_STATIC_ROOT (nothing collected locally)
        return self.root / "static"

    @property
    def logs_dir(self) -> Path:  # the services' own output
        return self.root / "logs"

    @property
    def secret_key_file(self) -> Path:
        return self.root / "secret-key"

    @property
    def admin_password_file(self) -> Path:
        return self.root / "admin-password"

    def prepare(self) -> None:
        for path in (self.root, self.data_dir, self.s3_dir, self.logs_dir):
            path.mkdir(parents=True, exist_ok=True)

    def secret_key(self) -> str:
        return _secret_file(self.secret_key_file, lambda: secrets.token_urlsafe(50))

    def admin_password(self) -> str:
        return _secret_file(self.admin_password_file, lambda: secrets.token_urlsafe(12))

    def has_records(self) -> bool:
        return self.db_path.exists()

    def move_aside(self) -> Path | None:
        """Move data/ and s3/ into previous-<timestamp>/; returns it (None if nothing to move)."""
        present = [p for p in (self.data_dir, self.s3_dir) if p.exists() and any(p.iterdir())]
        if not present:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.root / f"previous-{stamp}"
        n = 1
        while target.exists():
            n += 1
            target = self.root / f"previous-{stamp}-{n}"
        target.mkdir(parents=True)
        for path in present:
            shutil.move(str(path), str(target / path.name))
        return target


def _secret_file(path: Path, make) -> str:
    """Read a one-line secret, creating it (mode 0600) on first use."""
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)
    return value
