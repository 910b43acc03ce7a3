"""The Pillow layer: built by pip for Lambda's platform, never by Docker."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from stacks import layer_bundling

from .conftest import REPO, resources_of

REQUIREMENTS = REPO / "lambda_src" / "requirements.txt"


def _layer_asset_dir(cdk_out: Path, template_json: dict) -> Path:
    (layer,) = resources_of(template_json, "AWS::Lambda::LayerVersion").values()
    key = layer["Properties"]["Content"]["S3Key"]
    asset_hash = key.split(".")[0]
    return cdk_out / f"asset.{asset_hash}"


def test_built_layer_holds_pillow_for_the_function_runtime(cdk_out, template_json):
    layer_dir = _layer_asset_dir(cdk_out, template_json)
    extension = layer_dir / "python" / "PIL" / "_imaging.cpython-314-aarch64-linux-gnu.so"
    assert extension.is_file(), sorted(p.name for p in (layer_dir / "python" / "PIL").glob("_imaging*"))


def test_layer_contains_exactly_what_requirements_pin(cdk_out, template_json):
    layer_dir = _layer_asset_dir(cdk_out, template_json) / "python"
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    installed = {}
    for dist_info in layer_dir.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-")] = version
    assert installed == pins


def test_layer_hash_covers_pins_runtime_and_architecture(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("Pillow==13.0.0\n")
    base = layer_bundling.layer_hash(req, "3.14", "manylinux_2_28_aarch64")
    assert layer_bundling.layer_hash(req, "3.13", "manylinux_2_28_aarch64") != base
    assert layer_bundling.layer_hash(req, "3.14", "manylinux_2_28_x86_64") != base
    req.write_text("Pillow==12.0.0\n")
    assert layer_bundling.layer_hash(req, "3.14", "manylinux_2_28_aarch64") != base


def test_layer_built_for_this_machine_imports_in_an_isolated_interpreter():
    machine = platform.machine()
    if machine not in ("x86_64", "aarch64"):
        pytest.skip(f"no manylinux wheels for {machine}")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    built = layer_bundling.build_layer_dir(REQUIREMENTS, version, f"{layer_bundling.MANYLINUX}_{machine}")
    site = built / "python"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import PIL.Image, PIL; "
        "assert PIL.__file__.startswith(sys.argv[1]), PIL.__file__; "
        "im = PIL.Image.new('RGB', (8, 8)); print(PIL.__version__, im.size)"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("13.0.0")


def test_bundling_never_needs_docker(template_json, cdk_out):
    # Synth already ran in this session with no Docker engine on PATH lookups;
    # the local bundler reports success, so CDK never invokes `docker`.
    bundler = layer_bundling.PipLayerBundling(REQUIREMENTS, "3.14", "manylinux_2_28_aarch64")
    out = cdk_out / "bundle-check"
    out.mkdir()
    assert bundler.try_bundle(str(out)) is True
    assert (out / "python" / "PIL").is_dir()
