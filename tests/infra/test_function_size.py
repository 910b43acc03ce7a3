"""The functions issue 12 named as too long (mixing concerns) stay split."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIMIT = 60

NAMED = [
    ("lambda_src/handler.py", None, "process_object"),
    ("stacks/photo_processor.py", "PhotoProcessor", "__init__"),
    ("ec2_userdata/clinic_dbbackup.py", None, "cmd_restore"),
    ("stacks/clinic_server.py", "ClinicServer", "__init__"),
    ("stacks/clinic_server.py", "ServerInstance", "__init__"),
    ("stacks/clinic_server.py", "ServerData", "__init__"),
]


def _function(path: str, cls: str | None, name: str) -> ast.FunctionDef:
    tree = ast.parse((REPO / path).read_text())
    scope = tree if cls is None else next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    return next(n for n in scope.body if isinstance(n, ast.FunctionDef) and n.name == name)


@pytest.mark.parametrize(("path", "cls", "name"), NAMED, ids=lambda v: str(v))
def test_named_functions_are_short(path, cls, name):
    fn = _function(path, cls, name)
    assert fn.end_lineno - fn.lineno + 1 <= LIMIT
