"""The animal list as a CSV for spreadsheets in pt-BR (Excel, LibreOffice Calc).

The export is a list of columns, each a header and a getter of the animal (its
tutor joined); adding a column is one line in ``COLUMNS``. Values are shown by
registry.display's rules, then made spreadsheet-safe here:

* UTF-8 with a BOM and ``;`` as the separator: what Excel and LibreOffice in
  pt-BR open correctly on a double click (``,`` is their decimal separator);
* decimals with a comma and no thousands dot ("4,2", "1200"), so they become
  numbers; dates dd/mm/aaaa and date-times dd/mm/aaaa HH:MM, so they become
  dates;
* identifiers stay text with every leading zero: CPF, CEP and phones in their
  punctuated form (000.000.000-00, 00000-000, (00) 00000-0000) and the
  microchip in its written form (display.microchip: "076 123456789012"),
  never a bare run of digits a spreadsheet would turn into 7,6E+13 or strip of
  its zeros. No
  formula (``="..."``) is used for this: a formula in a CSV is exactly what the
  injection guard below forbids;
* anything a person typed that starts like a formula (= + - @, tab, CR) gets a
  leading apostrophe (CSV injection, OWASP).

docs/decisions.md ("CSV export") says why; tests/app/test_export.py opens a
produced file in LibreOffice and reads the cells back.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from . import display
from .models import Animal

BOM = "\ufeff"
DELIMITER = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value) -> str:
    """Text a person typed, neutralised against spreadsheet formula injection."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[Animal], object]


def _text(get: Callable[[Animal], object]) -> Callable[[Animal], str]:
    return lambda a: safe_text(get(a))


COLUMNS: tuple[Column, ...] = (
    Column("ID", lambda a: str(a.pk)),
    Column("Nome", _text(lambda a: a.name)),
    Column("Espécie", _text(lambda a: a.species_label)),
    Column("Raça", _text(lambda a: a.breed)),
    Column("Sexo", lambda a: a.sex_label),
    Column("Castrado", lambda a: display.yes_no(a.neutered)),
    Column("Data de nascimento", lambda a: display.date(a.birth_date)),
    Column("Nascimento estimado", lambda a: display.yes_no(a.birth_date_estimated)),
    Column("Pelagem/marcas", _text(lambda a: a.coat)),
    Column("Microchip", lambda a: safe_text(display.microchip(a.microchip))),
    Column("Peso (kg)", lambda a: display.decimal(a.weight_kg, grouping=False)),
    Column("Ativo", lambda a: display.yes_no(a.is_active)),
    Column("Óbito", lambda a: display.yes_no(a.deceased)),
    Column("Data do óbito", lambda a: display.date(a.deceased_on)),
    Column("Tutor", _text(lambda a: a.tutor.name)),
    Column("CPF do tutor", lambda a: display.cpf(a.tutor.cpf)),
    Column("Telefone", lambda a: display.phone(a.tutor.phone)),
    Column("Outro telefone", lambda a: display.phone(a.tutor.phone_secondary)),
    Column("E-mail", _text(lambda a: a.tutor.email)),
    Column("Cidade", _text(lambda a: a.tutor.city)),
    Column("UF", lambda a: a.tutor.uf),
    Column("CEP", lambda a: display.cep(a.tutor.cep)),
    Column("Cadastrado em", lambda a: display.date_time(a.created_at)),
)


class _Echo:
    """A file-like object whose write returns the line (csv.writer -> generator)."""

    def write(self, value: str) -> str:
        return value


def rows(animals: Iterable[Animal], columns: tuple[Column, ...] = COLUMNS) -> Iterator[str]:
    """The CSV text, line by line, the BOM first (streamed: no list in memory)."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER, lineterminator="\r\n")
    yield BOM
    yield writer.writerow([c.header for c in columns])
    for animal in animals:
        yield writer.writerow([c.get(animal) for c in columns])


def filename() -> str:
    return f"animais-{timezone.localdate().strftime('%Y%m%d')}.csv"
