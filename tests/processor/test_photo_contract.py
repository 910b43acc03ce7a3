"""The photo contract (lambda_src/photo_contract.py): keys, the typed manifest, and that
no runtime tree spells a prefix again."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import photo_contract as contract
import pytest

REPO = Path(__file__).resolve().parents[2]
PID = "0123456789abcdef0123456789abcdef"


# --- keys ------------------------------------------------------------------------------

def test_key_builders_and_parsers_round_trip():
    assert contract.upload_key(PID, "foto.jpg") == f"uploads/{PID}/foto.jpg"
    assert contract.rendition_key(PID, "thumb") == f"processed/{PID}/thumb.jpg"
    assert contract.manifest_key(PID) == f"processed/{PID}/manifest.json"
    assert contract.photo_id_of_upload(contract.upload_key(PID, "a.jpg")) == PID
    assert contract.photo_id_of_manifest(contract.manifest_key(PID)) == PID
    for key in ("processed/x/a.jpg", "uploads/loose.jpg", "uploads/x/", "uploads//a.jpg", "uploads/../a.jpg",
                "uploads/a b/c.jpg", "other/x/a.jpg", None):
        assert contract.photo_id_of_upload(key) is None, key
    assert contract.photo_id_of_manifest(f"processed/{PID}/thumb.jpg") is None
    assert contract.photo_id_of_manifest(contract.upload_key(PID, "manifest.json")) is None


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a b", "x\n", "á"])
def test_builders_refuse_what_is_not_a_photo_id(bad):
    for build in (contract.upload_prefix, contract.processed_prefix, contract.manifest_key):
        with pytest.raises(ValueError):
            build(bad)
    with pytest.raises(ValueError):
        contract.upload_key(PID, bad or "/")


# --- the manifest ----------------------------------------------------------------------

def ok_manifest() -> contract.Manifest:
    return contract.Manifest(
        photo_id=PID, status=contract.STATUS_OK,
        source=contract.Source(key=contract.upload_key(PID, "a.jpg"), bytes=10, format="JPEG", width=4, height=3),
        renditions={r.name: contract.Rendition(key=contract.rendition_key(PID, r.name), width=r.box, height=r.box,
                                               bytes=100) for r in contract.RENDITIONS},
        processed_at="2026-01-01T00:00:00.000Z", processor_version="1.1.0",
    )


def test_manifest_round_trips_through_json():
    manifest = ok_manifest()
    assert contract.Manifest.from_json(manifest.to_json()) == manifest
    failed = contract.Manifest(photo_id=PID, status=contract.STATUS_FAILED,
                               source=contract.Source(key=contract.upload_key(PID, "a.jpg")),
                               error=contract.Failure(code=contract.CORRUPT, message="broken"),
                               processed_at="t", processor_version="v")
    assert contract.Manifest.from_json(failed.to_json()) == failed
    assert json.loads(failed.to_json())["renditions"] == {} and json.loads(failed.to_json())["error"]["code"] == "corrupt"


def _mutated(change) -> dict:
    data = ok_manifest().to_dict()
    change(data)
    return data


MALFORMED = {
    "not an object": lambda d: d.clear() or d.update({"x": [1]}),
    "photo id with a slash": lambda d: d.update(photo_id="a/b"),
    "photo id not a string": lambda d: d.update(photo_id=12),
    "rendition of another photo": lambda d: d["renditions"]["thumb"].update(key=f"processed/{'f' * 32}/thumb.jpg"),
    "rendition in a sub-folder": lambda d: d["renditions"]["large"].update(key=f"processed/{PID}/x/large.jpg"),
    "rendition traversal": lambda d: d["renditions"]["large"].update(key=f"processed/{PID}/../{'f' * 32}/l.jpg"),
    "rendition is the original": lambda d: d["renditions"]["medium"].update(key=f"uploads/{PID}/a.jpg"),
    "rendition is a URL": lambda d: d["renditions"]["medium"].update(key="https://evil.example/x.jpg"),
    "unknown rendition": lambda d: d["renditions"].update(huge=dict(d["renditions"]["large"])),
    "required rendition missing": lambda d: d["renditions"].pop("thumb"),
    "width a string": lambda d: d["renditions"]["thumb"].update(width="256"),
    "bytes a bool": lambda d: d["renditions"]["thumb"].update(bytes=True),
    "negative height": lambda d: d["renditions"]["thumb"].update(height=-1),
    "renditions a list": lambda d: d.update(renditions=[]),
    "source missing": lambda d: d.pop("source"),
    "source key not a string": lambda d: d["source"].update(key=None),
    "ok with an error": lambda d: d.update(error={"code": "corrupt", "message": "x"}),
    "failed without an error": lambda d: d.update(status="failed", renditions={}),
    "failed with renditions": lambda d: d.update(status="failed", error={"code": "corrupt", "message": "x"}),
    "error code empty": lambda d: d.update(status="failed", renditions={}, error={"code": "", "message": "x"}),
    "error message a number": lambda d: d.update(status="failed", renditions={}, error={"code": "c", "message": 1}),
    "processed_at missing": lambda d: d.pop("processed_at"),
    "processor_version a number": lambda d: d.update(processor_version=1.1),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_from_json_rejects_malformed(case):
    data = _mutated(MALFORMED[case])
    with pytest.raises(contract.ManifestError):
        contract.Manifest.from_json(json.dumps(data))


@pytest.mark.parametrize("status", ["done", "OK", None, 1, ""])
def test_unknown_status_is_its_own_error(status):
    with pytest.raises(contract.UnknownStatus):
        contract.Manifest.from_json(json.dumps(_mutated(lambda d: d.update(status=status))))


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[]", b"null", b'"ok"'])
def test_from_json_rejects_what_is_not_a_manifest_object(raw):
    with pytest.raises(contract.ManifestError):
        contract.Manifest.from_json(raw)


def test_the_constructor_enforces_the_same_rules():
    """A processor bug cannot write a manifest the app would refuse."""
    good = ok_manifest()
    with pytest.raises(contract.ManifestError):
        contract.Manifest(**{**good.__dict__, "renditions": {
            "large": contract.Rendition(key=f"processed/{'f' * 32}/large.jpg", width=1, height=1, bytes=1)}})


# --- spelled once ----------------------------------------------------------------------

PREFIXES = (contract.UPLOADS_PREFIX, contract.PROCESSED_PREFIX, contract.BACKUPS_PREFIX)
RUNTIME_TREES = ("stacks", "lambda_src", "local", "clinic_app", "ec2_userdata", "scripts")
CONTRACT_FILES = {REPO / "lambda_src" / "photo_contract.py", REPO / "clinic_app" / "registry" / "photo_contract.py"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def python_copies(path: Path) -> list[str]:
    """String literals (f-strings included, docstrings not) that start with a prefix."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    skip |= {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            text, line = str(node.values[0].value), node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text, line = node.value, node.lineno
        else:
            continue
        if text.startswith(PREFIXES):
            found.append(f"{path.relative_to(REPO)}:{line}: {text[:60]!r}")
    return found


def text_copies(path: Path) -> list[str]:
    """Shell, JavaScript and templates: any non-comment line naming a prefix as a value."""
    pattern = re.compile(r"""(^|[\s="'(=])({})""".format("|".join(re.escape(p) for p in PREFIXES)))
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("#", "//", "/*", "*")):
            continue
        if pattern.search(line):
            found.append(f"{path.relative_to(REPO)}:{n}: {stripped[:80]}")
    return found


def runtime_copies() -> list[str]:
    found = []
    for tree in RUNTIME_TREES:
        for path in sorted((REPO / tree).rglob("*")):
            rel = str(path.relative_to(REPO))
            if (not path.is_file() or path in CONTRACT_FILES or path.resolve() in CONTRACT_FILES
                    or "__pycache__" in path.parts or "/migrations/" in rel):
                continue
            if path.suffix == ".py":
                found += python_copies(path)
            elif path.suffix in (".sh", ".js", ".html", ".service", ".timer", ".conf", "") and path.stat().st_size < 10**6:
                found += text_copies(path)
    return found


def test_no_prefix_is_spelled_outside_the_contract():
    assert runtime_copies() == []


def test_the_scan_finds_a_copy(tmp_path, monkeypatch):
    """The scan above can fail: a planted copy in each kind of file is found."""
    py = tmp_path / "x.py"
    py.write_text('"""Docstring mentions uploads/ freely."""\nKEY = f"processed/{pid}/a.jpg"\nP = "backups/"\n')
    sh = tmp_path / "x.sh"
    sh.write_text("# uploads/ in a comment is fine\nprefix=backups/\n")
    monkeypatch.setattr(sys_module(), "REPO", tmp_path)
    assert [c.split(":")[1] for c in python_copies(py)] == ["2", "3"]
    assert [c.split(":")[1] for c in text_copies(sh)] == ["2"]


def sys_module():
    import sys

    return sys.modules[__name__]
