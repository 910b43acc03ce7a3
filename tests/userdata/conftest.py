"""Fixtures for the user-data script tests: real loop devices, cleaned up always.

Everything the tests create lives under pytest's tmp_path (backing files,
mount points, fstab files); the only system objects are the loop devices,
which are detached in teardown together with every mount below tmp_path,
whether the test passed or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Tools the loop-device tests call directly or through the script (Debian:
# util-linux, mount, e2fsprogs; xfsprogs is optional, see FS_TYPE).
REQUIRED_TOOLS = ("losetup", "blkid", "findmnt", "lsblk", "mount", "umount", "mountpoint", "mkfs.ext4")


def _kernel_has(fs: str) -> bool:
    try:
        return any(line.split()[-1] == fs for line in Path("/proc/filesystems").read_text().splitlines() if line.strip())
    except OSError:
        return False


# Amazon Linux 2023 uses xfs, so test with it where this machine can; machines
# without xfsprogs (or an xfs-less kernel) fall back to ext4.
FS_TYPE = "xfs" if shutil.which("mkfs.xfs") and _kernel_has("xfs") else "ext4"
# mkfs.xfs refuses filesystems below 300 MB; the file is sparse, so this is cheap.
IMAGE_MB = 320 if FS_TYPE == "xfs" else 64


def run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120, **kw)


def _mounts_below(root: Path) -> list[str]:
    out = run(["findmnt", "-rn", "-o", "TARGET"], check=False).stdout
    prefix = str(root.resolve())
    targets = [t.replace("\\x20", " ") for t in out.split()]
    return [t for t in targets if t == prefix or t.startswith(prefix + "/")]


@pytest.fixture(scope="session")
def fs_type() -> str:
    """Filesystem the tests ask the script to create: xfs where possible, else ext4."""
    return FS_TYPE


@pytest.fixture
def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the test attaches loop devices and mounts filesystems")
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"tools missing on this machine: {', '.join(missing)}")


@pytest.fixture
def loop_devices(require_root, tmp_path: Path):
    """Factory: ``loop_devices(name)`` attaches a blank sparse image, returns '/dev/loopN'.

    Skips the test (with losetup's message) where loop devices are not allowed.
    Teardown unmounts everything under tmp_path and detaches every device.
    """
    attached: list[str] = []

    def attach(name: str = "disk", size_mb: int = IMAGE_MB) -> str:
        image = tmp_path / f"{name}.img"
        with open(image, "wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        res = run(["losetup", "--find", "--show", str(image)], check=False)
        if res.returncode != 0 or not res.stdout.strip().startswith("/dev/"):
            pytest.skip(f"loop devices not available here (losetup --find --show: {res.stderr.strip() or res.returncode})")
        dev = res.stdout.strip()
        attached.append(dev)
        return dev

    try:
        yield attach
    finally:
        problems = []
        for target in sorted(_mounts_below(tmp_path), key=len, reverse=True):
            if run(["umount", target], check=False).returncode != 0:
                res = run(["umount", "-l", target], check=False)
                if res.returncode != 0:
                    problems.append(f"umount {target}: {res.stderr.strip()}")
        for dev in attached:
            res = run(["losetup", "-d", dev], check=False)
            if res.returncode != 0:
                problems.append(f"losetup -d {dev}: {res.stderr.strip()}")
        if problems:
            pytest.fail("teardown left things behind: " + "; ".join(problems))
