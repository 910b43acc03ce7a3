"""lambda_src, local, scripts, stacks, the app and the tests import each other
without editing sys.path: pytest.ini's pythonpath (the repo root, clinic_app and
lambda_src, as Lambda puts its asset root on the path), `python -m scripts.X`
for the scripts, PYTHONPATH for child processes (local/env.py)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ("lambda_src", "local", "scripts", "stacks", "clinic_app", "tests", "ec2_userdata")
EDIT = re.compile(r"sys\.path\s*(?:\.(?:insert|append|extend)\s*\(|\[[^\]]*\]\s*=(?!=)|\+?=(?!=))")
# tests/infra/test_layer.py runs an isolated interpreter (-I) with only the built layer
# added, the way Lambda adds /opt/python: that child's path is the thing under test.
ALLOWED = {"tests/infra/test_layer.py", "tests/infra/test_import_paths.py"}  # and this file's examples


def test_nothing_edits_sys_path():
    found = []
    for tree in TREES:
        for path in sorted((REPO / tree).rglob("*.py")):
            rel = str(path.relative_to(REPO))
            if rel in ALLOWED or "__pycache__" in path.parts:
                continue
            found += [f"{rel}:{n}" for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                      if EDIT.search(line) and not line.lstrip().startswith("#")]
    assert found == []


def test_the_pattern_finds_each_kind_of_edit():
    for line in ("sys.path.insert(0, x)", "sys.path.append(x)", "sys.path[:0] = [a]", "sys.path += [a]",
                 "sys.path = [a]"):
        assert EDIT.search(line), line
    assert not EDIT.search("assert sys.path == before")
