#!/usr/bin/env python3
"""Build the clinic's release directory: the app's wheel, a wheelhouse, the installer.

The EC2 instance lives in an isolated subnet (no PyPI), so everything it
installs is shipped in this directory as a CDK asset and installed with
``pip install --no-index``. Layout of OUT::

    wheelhouse/*.whl        every wheel, for the instance's Python and CPU
    requirements.txt        every wheel pinned (name==version), incl. clinic-app
    install_clinic.sh       the installer cfn-init runs (first boot and updates)
    healthcheck.sh          waits for /healthz through nginx
    clinic_dbbackup.py      online SQLite backup / restore to S3
    templates/              systemd units, nginx and logrotate configuration
    RELEASE                 content hash (same as release_hash())

No Docker: ``pip download --platform ... --only-binary=:all:`` fetches wheels
for another platform, and the app's own wheel is pure Python. Third-party
wheels are cached in ``.layer-build/app-wheelhouse-<hash of pins+platform>``
and the app's wheel in ``.layer-build/app-wheel-<hash of its sources>``.
Nothing in OUT depends on the time of the build except zip timestamps inside
the app's wheel, which are pinned with SOURCE_DATE_EPOCH.

Usage:
    build_app_artifact.py --out DIR [--python-version 3.12] [--platform manylinux_2_28_aarch64]
    build_app_artifact.py --out DIR --local      # this machine's Python and platform (tests)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "clinic_app"
USERDATA_DIR = REPO_ROOT / "ec2_userdata"
CACHE_DIR = REPO_ROOT / ".layer-build"

DEFAULT_PYTHON_VERSION = "3.12"  # Amazon Linux 2023: dnf package python3.12
DEFAULT_PLATFORM = "manylinux_2_28_aarch64"  # AL2023 has glibc 2.34; Graviton
LOCAL = "local"

# ec2_userdata files the instance needs (prepare_data_volume.sh runs from user-data).
RELEASE_FILES = ("install_clinic.sh", "healthcheck.sh", "clinic_dbbackup.py")
RELEASE_DIRS = ("templates",)
_SKIP_PARTS = {"__pycache__", "build", "dist", ".pytest_cache"}
_SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest zip timestamp


def _app_source_files() -> list[Path]:
    files = []
    for path in sorted(APP_DIR.rglob("*")):
        rel = path.relative_to(APP_DIR)
        if not path.is_file() or _SKIP_PARTS.intersection(rel.parts):
            continue
        if any(p.endswith(".egg-info") for p in rel.parts) or path.suffix in {".pyc", ".pyo"}:
            continue
        files.append(path)
    return files


def _userdata_files() -> list[Path]:
    files = [USERDATA_DIR / name for name in RELEASE_FILES]
    for d in RELEASE_DIRS:
        files += sorted(p for p in (USERDATA_DIR / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def _hash_files(digest, files: list[Path], base: Path) -> None:
    for path in files:
        digest.update(f"{base.name}/{path.relative_to(base).as_posix()}".encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def _local_target() -> tuple[str, str]:
    import sysconfig

    return f"{sys.version_info.major}.{sys.version_info.minor}", sysconfig.get_platform()


# pip for the instance's venv (created --without-pip): pinned, so every machine
# builds the same release for the same hash.
PIP_VERSION = "26.3"


def _pip_version() -> str:
    return PIP_VERSION


def deps_hash(python_version: str, platform: str) -> str:
    digest = hashlib.sha256((APP_DIR / "requirements.txt").read_bytes())
    tags = ",".join(platform_tags(platform)) if platform != LOCAL else platform
    digest.update(f"\0{python_version}\0{tags}\0pip=={_pip_version()}".encode())
    return digest.hexdigest()[:32]


def app_hash() -> str:
    digest = hashlib.sha256()
    _hash_files(digest, _app_source_files(), APP_DIR)
    return digest.hexdigest()[:32]


def release_hash(python_version: str = DEFAULT_PYTHON_VERSION, platform: str = DEFAULT_PLATFORM) -> str:
    """Hash of everything that goes into the release: use it as the CDK asset hash."""
    digest = hashlib.sha256()
    digest.update(f"{python_version}\0{platform}\0".encode())
    digest.update(hashlib.sha256(Path(__file__).read_bytes()).digest())  # this builder
    _hash_files(digest, _app_source_files(), APP_DIR)
    _hash_files(digest, _userdata_files(), USERDATA_DIR)
    return digest.hexdigest()


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    subprocess.run(cmd, check=True, env=env)


def _cached_dir(key: str, fill) -> Path:  # noqa: ANN001
    """Return CACHE_DIR/key, filling it once (atomically) with fill(tmpdir)."""
    cached = CACHE_DIR / key
    if (cached / ".complete").exists():
        return cached
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.tmp-", dir=CACHE_DIR))
    try:
        fill(work)
        (work / ".complete").write_text(key + "\n")
        if cached.exists():
            shutil.rmtree(cached)
        try:
            work.rename(cached)
        except OSError:  # a concurrent build won the race; its result is as good
            if not (cached / ".complete").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cached


def platform_tags(platform: str) -> list[str]:
    """manylinux_2_28_aarch64 -> itself and every older glibc tag (pip does not expand --platform).

    Without the older tags pip skips e.g. a cffi release that ships only
    manylinux2014 (= manylinux_2_17) wheels and picks an odd pre-release instead.
    """
    m = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not m:
        return [platform]
    glibc_minor, arch = int(m[1]), m[2]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 16, -1)]
    return tags + [f"manylinux2014_{arch}"]


def third_party_wheels(python_version: str, platform: str) -> Path:
    """Cached directory with the wheels of clinic_app/requirements.txt (and their dependencies)."""

    def fill(work: Path) -> None:
        # pip itself too: the instance creates the venv --without-pip (no ensurepip needed).
        args = [
            "download",
            "--requirement",
            str(APP_DIR / "requirements.txt"),
            f"pip=={_pip_version()}",
            "--dest",
            str(work),
            "--only-binary=:all:",
        ]
        if platform != LOCAL:
            for tag in platform_tags(platform):
                args += ["--platform", tag]
            args += ["--implementation", "cp", "--python-version", python_version]
        print(f">> app wheelhouse: pip download for cp{python_version} on {platform}", file=sys.stderr)
        _pip(*args)

    return _cached_dir(f"app-wheelhouse-{deps_hash(python_version, platform)}", fill)


def app_wheel() -> Path:
    """Cached directory with the single wheel of clinic_app (pure Python, any platform)."""

    def fill(work: Path) -> None:
        if not (APP_DIR / "pyproject.toml").exists():
            raise SystemExit(f"{APP_DIR}/pyproject.toml is missing: cannot build the clinic-app wheel")
        # Build from a copy: pip/setuptools write build/ and *.egg-info next to
        # the sources, and clinic_app/ is someone else's working directory.
        with tempfile.TemporaryDirectory(prefix="clinic-app-src-") as src:
            src_dir = Path(src) / "clinic_app"
            for path in _app_source_files():
                dest = src_dir / path.relative_to(APP_DIR)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
            env = dict(os.environ, SOURCE_DATE_EPOCH=_SOURCE_DATE_EPOCH, PYTHONDONTWRITEBYTECODE="1")
            print(">> app wheel: pip wheel clinic_app", file=sys.stderr)
            _pip("wheel", "--no-deps", "--wheel-dir", str(work), str(src_dir), env=env)
        wheels = list(work.glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one clinic-app wheel, got {[w.name for w in wheels]}")

    return _cached_dir(f"app-wheel-{app_hash()}", fill)


_WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def _pins(wheelhouse: Path) -> list[str]:
    pins = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        m = _WHEEL_RE.match(wheel.name)
        if not m:
            raise SystemExit(f"unexpected wheel file name: {wheel.name}")
        name = re.sub(r"[-_.]+", "-", m["name"]).lower()
        pins.append(f"{name}=={m['version']}")
    return pins


def build(out: Path, python_version: str = DEFAULT_PYTHON_VERSION, platform: str = DEFAULT_PLATFORM) -> Path:
    """Write the release directory to ``out`` (created; existing content replaced). Returns ``out``.

    ``platform="local"`` builds for the running interpreter (python_version is then ignored).
    """
    out = Path(out)
    if platform == LOCAL:
        python_version, _ = _local_target()
    deps = third_party_wheels(python_version, platform)
    app = app_wheel()

    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():  # CDK hands us an empty dir; a rebuild starts clean too
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    wheelhouse = out / "wheelhouse"
    wheelhouse.mkdir()
    for src in (deps, app):
        for wheel in sorted(src.glob("*.whl")):
            shutil.copy2(wheel, wheelhouse / wheel.name)

    pins = _pins(wheelhouse)
    header = (
        "# Generated by scripts/build_app_artifact.py: every wheel in wheelhouse/, pinned.\n"
        "# Install with: pip install --no-index --find-links wheelhouse -r requirements.txt\n"
    )
    (out / "requirements.txt").write_text(header + "\n".join(pins) + "\n")

    for name in RELEASE_FILES:
        shutil.copy2(USERDATA_DIR / name, out / name)
    for d in RELEASE_DIRS:
        shutil.copytree(USERDATA_DIR / d, out / d, ignore=shutil.ignore_patterns("__pycache__"))
    for script in out.glob("*.sh"):
        script.chmod(0o755)

    target = python_version if platform != LOCAL else f"{python_version} (local)"
    (out / "RELEASE").write_text(f"{release_hash(python_version, platform)}\npython={target}\nplatform={platform}\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="release directory to write")
    parser.add_argument("--python-version", default=DEFAULT_PYTHON_VERSION, help="target CPython X.Y")
    parser.add_argument("--platform", default=DEFAULT_PLATFORM, help="pip platform tag of the instance")
    parser.add_argument("--local", action="store_true", help="build for this machine's Python and platform")
    args = parser.parse_args(argv)
    platform = LOCAL if args.local else args.platform
    out = build(args.out, args.python_version, platform)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
