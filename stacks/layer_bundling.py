"""Build a Lambda layer from pinned wheels with pip, never with Docker.

pip can install wheels for another platform (`--platform`, `--python-version`,
`--only-binary=:all:`), so the Pillow layer for arm64 Lambda is built on any
machine. The result is cached under .layer-build/<hash>, keyed by the same
hash CDK uses for the asset, so repeated synths cost one directory copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as _lambda

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".layer-build"

# Lambda's Python runtimes run on Amazon Linux 2023 (glibc 2.34), so any
# manylinux tag up to 2_34 works; Pillow 12+ publishes manylinux_2_28 wheels.
MANYLINUX = "manylinux_2_28"
_ARCH_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}


def runtime_python_version(runtime: _lambda.Runtime) -> str:
    """'python3.14' -> '3.14'."""
    name = runtime.name
    if not name.startswith("python"):
        raise ValueError(f"{name} is not a Python runtime")
    return name.removeprefix("python")


def pip_platform(architecture: _lambda.Architecture) -> str:
    return f"{MANYLINUX}_{_ARCH_MACHINE[architecture.name]}"


def layer_hash(requirements: Path, python_version: str, platform: str) -> str:
    """Covers the pins, the interpreter and the platform: change any, get a new layer."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"\0{python_version}\0{platform}\0{MANYLINUX}".encode())
    return digest.hexdigest()


def pip_install_target(requirements: Path, target: Path, python_version: str, platform: str) -> None:
    """Install exactly the pinned wheels for (python_version, platform) into target."""
    cmd = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile",
        "--requirement", str(requirements),
        "--target", str(target),
        "--platform", platform,
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
        "--upgrade",
    ]  # fmt: skip
    print(f">> building layer: pip install for cp{python_version} on {platform}", file=sys.stderr)
    subprocess.run(cmd, check=True)


def build_layer_dir(requirements: Path, python_version: str, platform: str) -> Path:
    """Return a cached directory holding `python/<packages>` for the layer."""
    key = layer_hash(requirements, python_version, platform)
    cached = CACHE_DIR / key
    if (cached / ".complete").exists():
        return cached
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="layer-", dir=CACHE_DIR))
    try:
        pip_install_target(requirements, work / "python", python_version, platform)
        for junk in (work / "python").glob("**/__pycache__"):
            shutil.rmtree(junk, ignore_errors=True)
        (work / ".complete").write_text(key)
        if cached.exists():
            shutil.rmtree(cached)
        work.rename(cached)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return cached


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """CDK local bundling: returns True, so CDK never looks for Docker."""

    def __init__(self, requirements: Path, python_version: str, platform: str) -> None:
        self.requirements = requirements
        self.python_version = python_version
        self.platform = platform

    def try_bundle(self, output_dir: str, *, image=None, **_kwargs) -> bool:  # noqa: ANN001
        built = build_layer_dir(self.requirements, self.python_version, self.platform)
        shutil.copytree(built / "python", Path(output_dir) / "python", dirs_exist_ok=True)
        return True


def pillow_layer_code(
    requirements: Path, runtime: _lambda.Runtime, architecture: _lambda.Architecture
) -> _lambda.AssetCode:
    python_version = runtime_python_version(runtime)
    platform = pip_platform(architecture)
    return _lambda.Code.from_asset(
        str(requirements.parent),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=layer_hash(requirements, python_version, platform),
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds.
            image=DockerImage.from_registry("docker-is-never-used"),
            local=PipLayerBundling(requirements, python_version, platform),
        ),
    )
