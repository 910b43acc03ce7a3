"""ec2_userdata/prepare_data_volume.sh against real loop devices.

The script takes the device (or a volume id plus a by-id directory), the mount
point and the fstab path as parameters, so these tests work entirely on loop
devices, mount points and fstab files of their own under tmp_path.
"""

from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "ec2_userdata" / "prepare_data_volume.sh"
VOLUME_ID = "vol-0123456789abcdef0"
BY_ID_NAME = "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"
MOUNT_OPTS = "defaults,nofail,noatime"

root = pytest.mark.root


# ------------------------------------------------------------------ helpers
def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


def prepare(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(res: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert res.returncode == 0, f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def probe(dev: str) -> tuple[int, dict[str, str]]:
    """blkid -p low-level probe: (exit code, KEY=value fields). Exit 2 = nothing found."""
    res = run(["blkid", "-p", "-o", "export", dev], check=False)
    fields = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return res.returncode, fields


def mounted(mount_point: Path) -> dict[str, str] | None:
    res = run(["findmnt", "-n", "-P", "-o", "SOURCE,FSTYPE,OPTIONS", "--mountpoint", str(mount_point)], check=False)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    last = res.stdout.strip().splitlines()[-1]
    return dict((k, v.strip('"')) for k, v in (item.split("=", 1) for item in last.split()))


def fstab_entries(fstab: Path, mount_point: Path) -> list[list[str]]:
    if not fstab.exists():
        return []
    rows = [line.split() for line in fstab.read_text().splitlines()]
    return [r for r in rows if len(r) >= 2 and not r[0].startswith("#") and r[1] == str(mount_point)]


@pytest.fixture
def paths(tmp_path: Path, fs_type: str) -> dict:
    """Mount point, fstab and by-id directory of the test's own, plus the fs type to ask for."""
    tmp_path = tmp_path.resolve()  # the script canonicalises the mount point
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    return {"mnt": tmp_path / "data", "fstab": tmp_path / "fstab", "by_id": by_id, "fs_type": fs_type}


def args_for(paths: dict, *extra: str) -> list[str]:
    return ["--mount-point", str(paths["mnt"]), "--fstab", str(paths["fstab"]), "--fs-type", paths["fs_type"], *extra]


def write_mbr(dev: str) -> None:
    """A DOS partition table with one Linux partition (no filesystem anywhere)."""
    mbr = bytearray(512)
    # status, CHS first (3), type 0x83, CHS last (3), LBA start, sector count
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0x83, b"\xff\xff\xff", 2048, 4096)
    mbr[510:512] = b"\x55\xaa"
    fd = os.open(dev, os.O_WRONLY)
    try:
        os.write(fd, bytes(mbr))
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------ the lifecycle
@root
def test_format_mount_rerun_and_reboot_keep_data(loop_devices, paths):
    dev = loop_devices()
    mnt, fstab = paths["mnt"], paths["fstab"]
    assert probe(dev)[0] == 2, "fresh loop device should be blank"

    # First boot: formats and mounts.
    res = ok(prepare("--device", dev, *args_for(paths)))
    assert "formatting" in res.stdout
    rc, fields = probe(dev)
    assert rc == 0 and fields["TYPE"] == paths["fs_type"]
    uuid = fields["UUID"]
    m = mounted(mnt)
    assert m is not None and os.path.realpath(m["SOURCE"]) == dev and m["FSTYPE"] == paths["fs_type"]
    assert "noatime" in m["OPTIONS"].split(",")
    assert fstab_entries(fstab, mnt) == [[f"UUID={uuid}", str(mnt), paths["fs_type"], MOUNT_OPTS, "0", "2"]]
    assert f"UUID={uuid}" in res.stdout and str(mnt) in res.stdout  # final state printed
    for sub in ("db", "logs"):
        assert (mnt / sub).is_dir()
        assert (mnt / sub).stat().st_mode & 0o777 == 0o750

    marker = mnt / "db" / "marker.txt"
    marker.write_text("survives")

    # Second run while mounted: no reformat, nothing changes.
    res = ok(prepare("--device", dev, *args_for(paths)))
    assert "formatting" not in res.stdout
    assert probe(dev)[1]["UUID"] == uuid
    assert marker.read_text() == "survives"
    assert len(fstab_entries(fstab, mnt)) == 1

    # Simulated reboot: unmounted, script runs again.
    run(["umount", str(mnt)])
    assert mounted(mnt) is None
    res = ok(prepare("--device", dev, *args_for(paths)))
    assert "formatting" not in res.stdout
    m = mounted(mnt)
    assert m is not None and os.path.realpath(m["SOURCE"]) == dev
    assert probe(dev)[1]["UUID"] == uuid
    assert marker.read_text() == "survives"
    assert fstab_entries(fstab, mnt) == [[f"UUID={uuid}", str(mnt), paths["fs_type"], MOUNT_OPTS, "0", "2"]]
    assert sum(f"UUID={uuid}" in line for line in fstab.read_text().splitlines()) == 1


@root
def test_fstab_keeps_other_lines_and_replaces_stale_entry(loop_devices, paths):
    dev = loop_devices()
    mnt, fstab = paths["mnt"], paths["fstab"]
    others = ["# static file system information", "UUID=1111-2222 / ext4 defaults 0 1", "tmpfs /tmp tmpfs defaults 0 0"]
    fstab.write_text("\n".join([*others, f"UUID=dead-beef {mnt} xfs defaults 0 2", f"/dev/sdf {mnt}/ ext4 defaults 0 2"]) + "\n")

    ok(prepare("--device", dev, *args_for(paths)))
    uuid = probe(dev)[1]["UUID"]
    lines = fstab.read_text().splitlines()
    assert lines[: len(others)] == others
    assert fstab_entries(fstab, mnt) == [[f"UUID={uuid}", str(mnt), paths["fs_type"], MOUNT_OPTS, "0", "2"]]
    assert len(lines) == len(others) + 1


@root
def test_owner_applied_to_subdirectories(loop_devices, paths):
    dev = loop_devices()
    ok(prepare("--device", dev, *args_for(paths, "--owner", "12345:12346")))
    for sub in ("db", "logs"):
        st = (paths["mnt"] / sub).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (12345, 12346, 0o750)


# ------------------------------------------------------------------ finding the device
@root
@pytest.mark.parametrize("volume_id", [VOLUME_ID, VOLUME_ID.replace("-", "")])
def test_resolves_volume_id_via_by_id_link(loop_devices, paths, volume_id):
    dev = loop_devices()
    (paths["by_id"] / BY_ID_NAME).symlink_to(dev)
    res = ok(prepare("--volume-id", volume_id, "--by-id-dir", str(paths["by_id"]), "--timeout", "5", *args_for(paths)))
    assert f"is {dev}" in res.stdout
    m = mounted(paths["mnt"])
    assert m is not None and os.path.realpath(m["SOURCE"]) == dev
    assert len(fstab_entries(paths["fstab"], paths["mnt"])) == 1


@root
def test_waits_for_a_link_that_appears_late(loop_devices, paths):
    dev = loop_devices()
    link = paths["by_id"] / BY_ID_NAME
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "--volume-id", VOLUME_ID, "--by-id-dir", str(paths["by_id"]), "--timeout", "30",
         *args_for(paths)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(2)
        assert proc.poll() is None, "script should still be waiting for the device"
        link.symlink_to(dev)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert mounted(paths["mnt"]) is not None


@root
def test_fallback_device_used_when_its_target_exists(loop_devices, paths, tmp_path):
    dev = loop_devices()
    sdf = tmp_path / "sdf"
    sdf.symlink_to(dev)
    ok(prepare("--volume-id", VOLUME_ID, "--by-id-dir", str(paths["by_id"]), "--fallback-device", str(sdf),
               "--timeout", "5", *args_for(paths)))
    m = mounted(paths["mnt"])
    assert m is not None and os.path.realpath(m["SOURCE"]) == dev


@root
def test_missing_device_times_out_without_touching_other_disks(loop_devices, paths, tmp_path):
    bystander = loop_devices("bystander")
    # A link for a *different* volume points at a blank disk: it must not be picked.
    (paths["by_id"] / "nvme-Amazon_Elastic_Block_Store_vol0fffffffffffffff0").symlink_to(bystander)
    dangling = tmp_path / "sdf"
    dangling.symlink_to(tmp_path / "no-such-device")

    start = time.monotonic()
    res = prepare("--volume-id", VOLUME_ID, "--by-id-dir", str(paths["by_id"]), "--fallback-device", str(dangling),
                  "--timeout", "2", *args_for(paths))
    elapsed = time.monotonic() - start

    assert res.returncode == 2, res
    assert f"device for volume {VOLUME_ID} did not appear within 2 s" in res.stderr
    assert 2 <= elapsed < 30
    assert probe(bystander)[0] == 2, "the bystander disk got a filesystem"
    assert mounted(paths["mnt"]) is None
    assert fstab_entries(paths["fstab"], paths["mnt"]) == []


@root
def test_missing_explicit_device_times_out(loop_devices, paths, tmp_path):
    bystander = loop_devices("bystander")
    res = prepare("--device", str(tmp_path / "nvme9n1"), "--timeout", "2", *args_for(paths))
    assert res.returncode == 2, res
    assert "did not appear within 2 s" in res.stderr
    assert probe(bystander)[0] == 2
    assert mounted(paths["mnt"]) is None


# ------------------------------------------------------------------ never format what holds data
@root
def test_existing_foreign_filesystem_is_kept(loop_devices, paths, tmp_path):
    dev = loop_devices()
    run(["mkfs.ext4", "-q", dev])
    uuid = probe(dev)[1]["UUID"]
    staging = tmp_path / "staging"
    staging.mkdir()
    run(["mount", dev, str(staging)])
    (staging / "precious.txt").write_text("keep me")
    run(["umount", str(staging)])

    res = ok(prepare("--device", dev, *args_for(paths, "--fs-type", "xfs")))
    assert "formatting" not in res.stdout
    rc, fields = probe(dev)
    assert (rc, fields["TYPE"], fields["UUID"]) == (0, "ext4", uuid)
    assert (paths["mnt"] / "precious.txt").read_text() == "keep me"
    assert fstab_entries(paths["fstab"], paths["mnt"]) == [[f"UUID={uuid}", str(paths["mnt"]), "ext4", MOUNT_OPTS, "0", "2"]]


@root
def test_partition_table_is_refused(loop_devices, paths):
    dev = loop_devices()
    write_mbr(dev)
    rc, fields = probe(dev)
    assert rc == 0 and fields.get("PTTYPE") == "dos" and "TYPE" not in fields

    res = prepare("--device", dev, *args_for(paths))
    assert res.returncode == 3, res.stderr  # the documented "refused" code, not a failing mkfs (1)
    # words of the script's own refusal that no mkfs message contains
    assert "expected a whole-disk filesystem, refusing to format or mount" in res.stderr
    rc, fields = probe(dev)
    assert fields.get("PTTYPE") == "dos" and "TYPE" not in fields, "device was formatted"
    assert mounted(paths["mnt"]) is None
    assert fstab_entries(paths["fstab"], paths["mnt"]) == []


@root
def test_device_mounted_elsewhere_is_refused(loop_devices, paths, tmp_path):
    dev = loop_devices()
    ok(prepare("--device", dev, *args_for(paths)))
    run(["umount", str(paths["mnt"])])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(["mount", dev, str(elsewhere)])

    res = prepare("--device", dev, *args_for(paths))
    assert res.returncode == 3, res
    assert f"in use at {elsewhere}" in res.stderr
    assert mounted(paths["mnt"]) is None


@root
def test_mount_point_holding_another_device_is_refused(loop_devices, paths):
    dev, other = loop_devices("disk"), loop_devices("other")
    run(["mkfs.ext4", "-q", other])
    paths["mnt"].mkdir()
    run(["mount", other, str(paths["mnt"])])

    res = prepare("--device", dev, *args_for(paths))
    assert res.returncode == 3, res
    assert "already has" in res.stderr
    assert probe(dev)[0] == 2, "refused device must stay blank"


@root
def test_root_device_is_refused(require_root, paths):
    src = run(["findmnt", "-n", "-o", "SOURCE", "--target", "/"]).stdout.strip()
    if not src.startswith("/dev/") or not os.path.exists(src):
        pytest.skip(f"/ is not on a block device here ({src!r})")
    res = run(["blkid", "-p", "-o", "export", src], check=False)
    if not ("TYPE=" in res.stdout or "error" in res.stderr):
        # Belt and braces: only run where even a broken guard could not format
        # (blkid sees a filesystem/partition table, or cannot open the disk).
        pytest.skip(f"blkid sees neither a filesystem nor a partition table on {src}")
    res = prepare("--device", src, *args_for(paths))
    assert res.returncode == 3, res
    assert "root filesystem" in res.stderr
    assert mounted(paths["mnt"]) is None


@root
@pytest.mark.parametrize(
    "fake_blkid",
    [
        'echo "blkid: error: $5: Operation not permitted" >&2; exit 2',  # what EPERM looks like
        "exit 8",  # ambivalent probing result
        "exit 4",  # usage error
    ],
    ids=["open-error-exit-2", "ambivalent-exit-8", "usage-exit-4"],
)
def test_probe_errors_never_format(loop_devices, paths, tmp_path, fake_blkid):
    dev = loop_devices()
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "blkid").write_text(f"#!/bin/sh\n{fake_blkid}\n")
    (fake_bin / "blkid").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}

    res = subprocess.run(["bash", str(SCRIPT), "--device", dev, *args_for(paths)],
                         capture_output=True, text=True, timeout=120, check=False, env=env)
    assert res.returncode == 3, res
    assert "not formatting" in res.stderr
    assert probe(dev)[0] == 2, "device was formatted"
    assert mounted(paths["mnt"]) is None
    assert fstab_entries(paths["fstab"], paths["mnt"]) == []


# ------------------------------------------------------------------ argument handling (no root needed)
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--device", "/dev/loop0", "--volume-id", VOLUME_ID],
        ["--volume-id", "vol-XYZ"],
        ["--device", "/dev/loop0", "--timeout", "soon"],
        ["--device", "/dev/loop0", "--fs-type", "btrfs"],
        ["--device", "/dev/loop0", "--mount-point", "relative/path"],
        ["--device", "/dev/loop0", "--fallback-device", "/dev/sdf"],
        ["--device", "/dev/loop0", "--bogus"],
    ],
)
def test_usage_errors(args, tmp_path):
    res = prepare(*args, "--fstab", str(tmp_path / "fstab"))
    assert res.returncode == 64, res
    assert "Usage:" in res.stderr
    assert not (tmp_path / "fstab").exists()
