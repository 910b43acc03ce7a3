"""Normalised snapshots of the synthesized templates, for reviewers.

`make snapshot` writes tests/snapshots/<Stack>.template.json from a fresh
synth; tests/infra/test_template_snapshot.py fails with a readable diff when
the synthesized template no longer matches, so every infrastructure change
shows up in the pull request. Asset hashes and other values that change
without a real infrastructure change are blanked.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO / "tests" / "snapshots"
_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_VOLATILE_METADATA = ("aws:asset:path", "aws:asset:property", "aws:asset:is-bundled", "aws:cdk:path")


def normalise(template: dict) -> dict:
    def walk(node):
        if isinstance(node, dict):
            return {_HASH.sub("<asset-hash>", k): walk(v) for k, v in node.items() if k not in _VOLATILE_METADATA}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return _HASH.sub("<asset-hash>", node)
        return node

    return walk(template)


def render(template: dict) -> str:
    return json.dumps(normalise(template), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def synth_templates(outdir: Path) -> dict[str, dict]:
    sys.path.insert(0, str(REPO))
    from app import build_app

    base = json.loads((REPO / "cdk.json").read_text())["context"]
    build_app(context=base, outdir=str(outdir)).synth()
    return {p.name: json.loads(p.read_text()) for p in sorted(outdir.glob("*.template.json"))}


def diff(name: str, template: dict) -> str:
    """A unified diff from the committed snapshot to this template ('' when equal)."""
    snapshot = SNAPSHOT_DIR / name
    old = snapshot.read_text() if snapshot.exists() else ""
    new = render(template)
    return "".join(
        difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"snapshot/{name}", f"synth/{name}", n=4)
    )


def main(argv: list[str]) -> int:
    update = "--update" in argv
    with tempfile.TemporaryDirectory() as tmp:
        templates = synth_templates(Path(tmp))
    changed = 0
    for name, template in templates.items():
        text = diff(name, template)
        if not text:
            print(f">> {name}: no change against the snapshot")
            continue
        changed += 1
        if update:
            SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
            (SNAPSHOT_DIR / name).write_text(render(template))
            print(f">> {name}: snapshot updated; review and commit tests/snapshots/{name}")
        else:
            sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
