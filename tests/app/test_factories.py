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
