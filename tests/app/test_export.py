"""The CSV export (registry/export.py): its bytes, and the cells LibreOffice Calc
makes of them when a pt-BR user opens the file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from registry import export
from registry.models import Animal
from registry.validators import cpf_check_digits

# A CPF, a CEP and a microchip with leading zeros: what a spreadsheet would strip.
CPF = "012345678" + cpf_check_digits("012345678")


@pytest.fixture
def exported(admin_client_, make_tutor, make_animal):
    tutor = make_tutor(name="-Ana de Souza", cpf=CPF, phone="11987654321", phone_secondary="1133334444",
                       cep="01310100", city="São Paulo", uf="SP", email="@ana@example.com")
    make_animal(name="Amora", tutor=tutor, species="cat", sex=Animal.Sex.FEMALE, neutered=True,
                microchip="076000000000123", weight_kg=Decimal("4.200"), birth_date=dt.date(2021, 3, 5),
                breed='=HYPERLINK("http://x","y")', coat="+ malhada")
    make_animal(name="Bidu", tutor=tutor, microchip="AVID*012*345*678", weight_kg=Decimal("1200"),
                coat="\tcinza")
    make_animal(name="Cacau", tutor=tutor, microchip="0123456789", weight_kg=Decimal("0.350"))
    response = admin_client_.get(reverse("animal_export"), {"active": "all"})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def rows_of(body: bytes) -> list[dict]:
    text = body.decode("utf-8")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";")
    header, *rows = list(reader)
    return [dict(zip(header, r, strict=True)) for r in rows]


def test_the_columns_are_one_list():
    headers = [c.header for c in export.COLUMNS]
    assert headers[:5] == ["ID", "Nome", "Espécie", "Raça", "Sexo"]
    assert len(headers) == len(set(headers)) == 23


def test_bytes_are_what_a_pt_br_spreadsheet_opens(exported):
    assert exported.startswith(b"\xef\xbb\xbfID;Nome;")  # UTF-8 BOM, ';' separator
    assert exported.count(b"\r\n") == 4  # header + 3 animals, CRLF
    amora, bidu, cacau = rows_of(exported)
    assert amora["Espécie"] == "Gato" and amora["Sexo"] == "Fêmea" and amora["Castrado"] == "Sim"
    assert amora["Peso (kg)"] == "4,2" and bidu["Peso (kg)"] == "1200" and cacau["Peso (kg)"] == "0,35"
    assert amora["Data de nascimento"] == "05/03/2021" and amora["Nascimento estimado"] == "Não"
    # identifiers: never a bare run of digits
    assert amora["Microchip"] == "076 000000000123"
    assert bidu["Microchip"] == "AVID*012*345*678" and cacau["Microchip"] == "01234 56789"
    assert amora["CPF do tutor"] == f"{CPF[:3]}.{CPF[3:6]}.{CPF[6:9]}-{CPF[9:]}"
    assert amora["Telefone"] == "(11) 98765-4321" and amora["Outro telefone"] == "(11) 3333-4444"
    assert amora["CEP"] == "01310-100"
    # what a person typed never starts a formula
    assert amora["Raça"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert amora["Pelagem/marcas"] == "'+ malhada" and bidu["Pelagem/marcas"] == "'\tcinza"
    assert amora["Tutor"] == "'-Ana de Souza" and amora["E-mail"] == "'@ana@example.com"
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows_of(exported) for v in r.values())


SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice Calc not installed (scripts/system_deps.py installs it)")
def test_libreoffice_pt_br_reads_text_identifiers_numbers_and_dates(exported, tmp_path):
    """Open the file as a pt-BR user's LibreOffice does (';', '"', UTF-8, language
    1046 = pt-BR) and read the cells back from the converted workbook."""
    openpyxl = pytest.importorskip("openpyxl")
    source = tmp_path / "animais.csv"
    source.write_bytes(exported)
    profile = tmp_path / "profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--infilter=CSV:59,34,76,1,,1046", "--convert-to", "xlsx", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )
    sheet = openpyxl.load_workbook(tmp_path / "animais.xlsx").active
    header = [c.value for c in sheet[1]]
    cells = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    amora, bidu, cacau = cells

    def text(cell, expected):
        assert (cell.data_type, cell.value) == ("s", expected)

    text(amora["Microchip"], "076 000000000123")  # not 7,6E+13, zeros kept
    text(bidu["Microchip"], "AVID*012*345*678")
    text(cacau["Microchip"], "01234 56789")
    text(amora["CPF do tutor"], f"{CPF[:3]}.{CPF[3:6]}.{CPF[6:9]}-{CPF[9:]}")
    text(amora["Telefone"], "(11) 98765-4321")
    text(amora["Raça"], "'=HYPERLINK(\"http://x\",\"y\")")  # text, not a formula
    assert amora["ID"].data_type == "n"
    assert [c["Peso (kg)"].value for c in cells] == [4.2, 1200, 0.35]  # decimal comma -> numbers
    assert amora["Data de nascimento"].value == dt.datetime(2021, 3, 5)  # dd/mm/aaaa, not 3 May
    text(amora["CEP"], "01310-100")
    assert amora["Cadastrado em"].is_date
