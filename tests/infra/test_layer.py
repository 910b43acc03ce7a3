"""The Pillow layer: built by pip for Lambda's platform, never by Docker."""

from __future__ import annotations

import platform
import re
import struct
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


# Every extension module the processor loads, built for the function's runtime.
EXTENSIONS = (
    "PIL/_imaging.cpython-314-aarch64-linux-gnu.so",
    "PIL/_imagingcms.cpython-314-aarch64-linux-gnu.so",  # ICC -> sRGB
    "PIL/_webp.cpython-314-aarch64-linux-gnu.so",
    "PIL/_avif.cpython-314-aarch64-linux-gnu.so",  # AVIF, decoded by Pillow itself
    "_pillow_heif.cpython-314-aarch64-linux-gnu.so",  # HEIC/HEIF (pillow-heif)
)
# What Lambda's Amazon Linux 2023 base provides (glibc 2.34, GCC 11's libstdc++,
# and zlib, which the runtime's own Python links for its zlib module); these are
# also the only ones the manylinux policy lets a wheel rely on that we meet here.
# Anything else an extension needs must be inside the layer.
SYSTEM_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
               "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-aarch64.so.1", "libz.so.1"}
MAX_VERSIONS = {"GLIBC": (2, 34), "GLIBCXX": (3, 4, 29), "CXXABI": (1, 3, 13)}
EM_AARCH64 = 183


def elf_info(path: Path) -> tuple[int, set[str], set[str]]:
    """(e_machine, DT_NEEDED sonames, required symbol versions) of an ELF64 LE file."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path  # 64-bit, little-endian
    machine = struct.unpack_from("<H", data, 18)[0]
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum = struct.unpack_from("<HH", data, 58)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]

    def string(table: int, offset: int) -> str:
        start = sections[table][4] + offset
        return data[start:data.index(b"\0", start)].decode()

    needed, versions = set(), set()
    for _name, kind, _f, _a, off, size, link, _i, _al, _es in sections:
        if kind == 6:  # SHT_DYNAMIC
            for pos in range(off, off + size, 16):
                tag, val = struct.unpack_from("<qQ", data, pos)
                if tag == 1:  # DT_NEEDED
                    needed.add(string(link, val))
        elif kind == 0x6FFFFFFE:  # SHT_GNU_verneed
            pos = off
            while True:
                _v, count, _file, aux, nxt = struct.unpack_from("<HHIII", data, pos)
                apos = pos + aux
                for _ in range(count):
                    _h, _fl, _o, name, anext = struct.unpack_from("<IHHII", data, apos)
                    versions.add(string(link, name))
                    apos += anext
                if not nxt:
                    break
                pos += nxt
    return machine, needed, versions


def test_built_layer_holds_every_extension_for_the_function_runtime(cdk_out, template_json):
    site = _layer_asset_dir(cdk_out, template_json) / "python"
    for rel in EXTENSIONS:
        assert (site / rel).is_file(), (rel, sorted(p.name for p in (site / rel).parent.glob("_*.so")))


def test_every_native_library_in_the_layer_loads_on_lambda(cdk_out, template_json):
    """The ABI check, for Pillow's and pillow-heif's extensions and the libraries
    their wheels bundle (libavif, libheif, libde265, x265, ...): arm64 code,
    every needed library either bundled in the layer or part of Lambda's base
    image, and no glibc / libstdc++ symbol version newer than Amazon Linux 2023 has."""
    site = _layer_asset_dir(cdk_out, template_json) / "python"
    libraries = [p for p in site.rglob("*.so*") if p.is_file() and not p.name.endswith(".py")]
    bundled = {p.name for p in libraries}
    assert any(n.startswith("libheif") for n in bundled) and any(n.startswith("libavif") for n in bundled)
    for lib in libraries:
        machine, needed, versions = elf_info(lib)
        assert machine == EM_AARCH64, lib
        assert needed <= bundled | SYSTEM_LIBS, (lib.name, needed - bundled - SYSTEM_LIBS)
        for version in versions:
            match = re.fullmatch(r"(GLIBC|GLIBCXX|CXXABI)_([\d.]+)", version)
            if match:
                have = tuple(int(x) for x in match[2].split("."))
                assert have <= MAX_VERSIONS[match[1]], (lib.name, version)


def test_layer_fits_lambda_limits_with_room(cdk_out, template_json):
    """Function + layers must stay under 250 MB unzipped; keep the layer under 100 MB."""
    site = _layer_asset_dir(cdk_out, template_json)
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert total < 100 * 2**20, total


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
    code = """
import io, sys
sys.path.insert(0, sys.argv[1])
import PIL, PIL.Image, pillow_heif
from PIL import features
assert PIL.__file__.startswith(sys.argv[1]), PIL.__file__
assert pillow_heif.__file__.startswith(sys.argv[1]), pillow_heif.__file__
assert features.check("avif"), "no AVIF in this Pillow"
pillow_heif.register_heif_opener()
src = PIL.Image.new("RGB", (64, 48), (200, 30, 30))
for fmt in ("AVIF", "HEIF"):
    buf = io.BytesIO()
    src.save(buf, fmt)
    buf.seek(0)
    im = PIL.Image.open(buf, formats=[fmt])
    im.load()
    assert im.size == (64, 48), fmt
print(PIL.__version__, pillow_heif.__version__)
"""
    result = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["13.0.0", "1.8.1"]


def test_bundling_never_needs_docker(template_json, cdk_out):
    # Synth already ran in this session with no Docker engine on PATH lookups;
    # the local bundler reports success, so CDK never invokes `docker`.
    bundler = layer_bundling.PipLayerBundling(REQUIREMENTS, "3.14", "manylinux_2_28_aarch64")
    out = cdk_out / "bundle-check"
    out.mkdir()
    assert bundler.try_bundle(str(out)) is True
    assert (out / "python" / "PIL").is_dir()


def test_the_photo_contract_ships_in_the_function_and_the_app_wheel(cdk_out, template_json):
    """photo_contract.py is defined once (lambda_src/) and shipped, byte for byte,
    in the Lambda code asset and in the app's wheel (registry/photo_contract.py)."""
    import zipfile

    from .conftest import processor

    source = (REPO / "lambda_src" / "photo_contract.py").read_bytes()
    _, function = processor(template_json)
    asset = cdk_out / f"asset.{function['Properties']['Code']['S3Key'].split('.')[0]}"
    assert (asset / "photo_contract.py").read_bytes() == source
    assert (asset / "heif_header.py").is_file()
    wheels = list(cdk_out.glob("asset.*/wheelhouse/clinic_app-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        assert wheel.read("registry/photo_contract.py") == source
