"""registry/display.py: the pt-BR display rules, and that nothing else spells them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone
from registry import display
from registry.models import Animal, Tutor

APP = Path(__file__).resolve().parents[2] / "clinic_app"


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("4.200"), "4,2 kg"), (Decimal("12.000"), "12 kg"), (Decimal("0.350"), "0,35 kg"),
    (Decimal("1200"), "1.200 kg"), (Decimal("0.001"), "0,001 kg"), (Decimal("2000.000"), "2.000 kg"),
    (None, ""),
])
def test_weight(value, shown):
    assert display.weight(value) == shown
    assert Animal(weight_kg=value).weight_display == shown


def test_decimal_without_grouping_for_spreadsheets():
    assert display.decimal(Decimal("1200.500"), grouping=False) == "1200,5"
    assert display.decimal(Decimal("-3.10")) == "-3,1"


def test_dates_and_times_in_the_clinic_time_zone(settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    assert display.date(dt.date(2021, 3, 5)) == "05/03/2021"
    late = dt.datetime(2026, 1, 2, 1, 30, tzinfo=dt.UTC)  # 22:30 of the 1st in São Paulo
    with timezone.override("America/Sao_Paulo"):
        assert display.date_time(late) == "01/01/2026 22:30"
        assert display.date(late) == "01/01/2026"
        assert display.time(late) == "22:30"
    assert display.date(None) == display.date_time(None) == ""


@pytest.mark.parametrize(("sex", "word"), [("female", "castrada"), ("male", "castrado"), ("unknown", "castrado(a)")])
def test_gender_agreement(sex, word):
    assert display.neutered(sex) == word
    assert Animal(sex=sex).neutered_display == word


def test_identifiers_and_yes_no():
    assert display.cpf("52998224725") == "529.982.247-25"
    assert display.phone("11987654321") == "(11) 98765-4321" and display.phone("1133334444") == "(11) 3333-4444"
    assert display.cep("01310100") == "01310-100"
    assert display.cpf(None) == display.phone("") == display.cep("") == ""
    assert (display.yes_no(True), display.yes_no(False)) == ("Sim", "Não")
    assert display.microchip("076000000000123") == "076 000000000123"
    assert display.microchip("012345678") == "AVID*012*345*678"
    assert display.microchip("0A12345678") == "0A123 45678"


def test_age():
    born = dt.date(2020, 5, 20)
    assert display.age(born, dt.date(2022, 6, 20)) == "2 anos e 1 mês"
    assert display.age(born, dt.date(2021, 5, 19)) == "11 meses"
    assert display.age(born, dt.date(2020, 5, 25), estimated=True) == "cerca de 0 meses"
    assert display.age(None, dt.date(2020, 1, 1)) == ""


@pytest.mark.django_db
def test_field_value_follows_the_field():
    animal = Animal()
    assert display.field_value(animal, "species", "cat") == "Gato"
    assert display.field_value(animal, "sex", "female") == "Fêmea"
    assert display.field_value(animal, "neutered", True) == "Sim"
    assert display.field_value(animal, "birth_date", dt.date(2019, 2, 1)) == "01/02/2019"
    assert display.field_value(animal, "weight_kg", Decimal("30.500")) == "30,5"  # was "30,500"
    assert display.field_value(Tutor(), "cpf", "52998224725") == "529.982.247-25"
    assert display.field_value(Tutor(), "cep", "01310100") == "01310-100"
    assert display.field_value(animal, "name", None) == ""


@pytest.mark.django_db
def test_species_label_is_the_one_place_species_is_shown():
    assert Animal(species_id="cat").species_label == "Gato"
    assert Animal().species_label == ""
    templates = "\n".join(p.read_text(encoding="utf-8") for p in APP.rglob("templates/**/*.html"))
    assert "get_species_display" not in templates


def test_template_filters():
    out = Template("{% load display %}{{ d|br_date }} {{ t|br_datetime }} {{ b|yes_no }}").render(Context({
        "d": dt.date(2021, 3, 5), "t": dt.datetime(2021, 3, 5, 14, 7), "b": False}))
    assert out == "05/03/2021 05/03/2021 14:07 Não"


# --- spelled once ------------------------------------------------------------------

def _code(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_no_template_spells_a_date_format():
    found = [f"{p.relative_to(APP)}: {m.group(0)}" for p in APP.rglob("templates/**/*.html")
             for m in re.finditer(r"\|\s*date\s*:[^}]*", _code(p))]
    assert found == []


def test_no_python_module_spells_a_display_rule():
    """Dates, Sim/Não and the decimal comma are registry/display.py's alone."""
    rules = re.compile(r"""%d/%m|"Sim"|'Sim'|"Não"|'Não'|replace\(\s*["']\.["']\s*,\s*["'],["']""")
    found = []
    for path in (APP / "registry").rglob("*.py"):
        if path.name == "display.py" or "migrations" in path.parts:
            continue
        found += [f"{path.relative_to(APP)}:{n}" for n, line in enumerate(_code(path).splitlines(), 1)
                  if rules.search(line)]
    assert found == []
