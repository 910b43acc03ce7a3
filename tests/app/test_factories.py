"""tests/app/factories.py makes valid data, and conftest.py only holds fixtures."""

from __future__ import annotations

import ast
from pathlib import Path

from registry import validators

from .factories import create_animal, create_tutor, make_chip, make_cpf


def test_identifiers_are_valid_and_distinct():
    cpfs = {make_cpf() for _ in range(50)}
    assert len(cpfs) == 50 and all(validators.is_valid_cpf(c) for c in cpfs)
    chips = {make_chip() for _ in range(50)}
    assert len(chips) == 50 and all(validators.normalise_microchip(c) == c for c in chips)


def test_create_animal_makes_its_tutor(db):
    animal = create_animal(name="Mel")
    assert animal.pk and animal.tutor.pk and animal.tutor.name == "Maria da Silva"
    assert create_animal(tutor=create_tutor(name="Outra")).tutor.name == "Outra"


def test_conftest_defines_only_fixtures():
    tree = ast.parse((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    loose = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
             and not any("fixture" in ast.unparse(d) for d in getattr(node, "decorator_list", []))]
    assert loose == []


def test_no_test_hand_builds_a_manifest():
    """Manifests come from the contract's Manifest (factories.ok_manifest/failed_manifest);
    a test may spoil one, never write one out as a dict literal."""
    found = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if {"renditions", "status"} <= keys or "processor_version" in keys or \
                        {"key", "width", "height", "bytes"} <= keys:
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []
