"""The CSV export in a real browser: Administração clicks "Exportar CSV" on the
list and gets a file a pt-BR spreadsheet opens right (registry/export.py;
tests/app/test_export.py opens one in LibreOffice)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def test_administration_downloads_the_list_as_csv(local_stack, page):
    base = local_stack.url.rstrip("/")
    sign_in(page, base, local_stack.password)  # the demo administrator is in Administração
    shown = page.locator("a.animal-link").count()
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert re.fullmatch(r"animais-\d{8}\.csv", download.suggested_filename)
    body = open(download.path(), "rb").read()
    assert body.startswith(b"\xef\xbb\xbfID;Nome;Esp\xc3\xa9cie;")  # BOM, ';', UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    header, animals = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert "Microchip" in header and "CPF do tutor" in header
    assert len(animals) >= shown > 0  # the seeded clinic, not an empty file
    for animal in animals:
        assert not re.fullmatch(r"\d+", animal["Microchip"])  # never a bare number (7,6E+13)
        assert animal["CPF do tutor"] == "" or re.fullmatch(r"\d{3}\.\d{3}\.\d{3}-\d{2}", animal["CPF do tutor"])
        assert animal["Peso (kg)"] == "" or re.fullmatch(r"\d+(,\d+)?", animal["Peso (kg)"])
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", animal["Cadastrado em"])
    assert any(a["Microchip"] for a in animals)
