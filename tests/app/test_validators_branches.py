"""Every branch of registry/validators.py: the accepted boundaries, and each
refusal with its code and its exact pt-BR message (the text the user reads
next to the field). Written against the surviving mutants of `make mutate`."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from registry import validators as v

MSG = {
    "cpf_chars": "CPF deve conter apenas números (pontos e traço são opcionais).",
    "cpf_length": "CPF deve ter 11 dígitos.",
    "cpf_invalid": "CPF inválido: os dígitos verificadores não conferem.",
    "phone_chars": "Telefone deve conter apenas números, parênteses, espaços e traço.",
    "phone_country": "Informe um telefone brasileiro (+55).",
    "phone_length": "Telefone deve ter DDD + número, ex.: (11) 98765-4321.",
    "phone_ddd": "DDD inválido.",
    "phone_mobile": "Celular com 11 dígitos deve começar com 9 após o DDD.",
    "phone_landline": "Telefone fixo deve começar com 2, 3, 4 ou 5 após o DDD; celular tem 9 dígitos.",
    "cep_chars": "CEP deve conter apenas números.",
    "cep_length": "CEP deve ter 8 dígitos, ex.: 01310-100.",
    "microchip_digits": "O microchip deve conter apenas números.",
}


def refusal(func, value) -> tuple[str, str]:
    with pytest.raises(ValidationError) as exc:
        func(value)
    return exc.value.code, exc.value.messages[0]


# --- helpers ----------------------------------------------------------------------

def test_ascii_digits_of_nothing_is_empty():
    assert v.ascii_digits(None) == "" and v.ascii_digits("") == ""
    assert v.ascii_digits(None, strict=False) == ""
    assert v.ascii_digits("１２３-４") == "123-4"


def test_only_digits_and_fold():
    assert v.only_digits(None) == "" and v.only_digits("") == ""
    assert v.only_digits("(11) 9-8a7") == "11987"
    assert v.fold(None) == ""
    assert v.fold("  JOÃO   da  Conceição\t") == "joao da conceicao"


# --- CPF ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "valid"), [
    ("529.982.247-25", True), ("52998224725", True),
    ("52998224724", False), ("52998224735", False),   # each check digit matters
    ("5299822472", False), ("529982247250", False),   # 10 and 12 digits
    ("00000000000", False), ("11111111111", False), ("99999999999", False),  # repeated digits pass the sums
])
def test_is_valid_cpf(value, valid):
    assert v.is_valid_cpf(value) is valid


@pytest.mark.parametrize(("value", "code"), [
    ("529.982.247-2a", "cpf_chars"), ("529/982/247-25", "cpf_chars"),
    ("529.982.247-2", "cpf_length"), ("529.982.247-250", "cpf_length"),
    ("529.982.247-24", "cpf_invalid"), ("111.111.111-11", "cpf_invalid"),
])
def test_cpf_refusals(value, code):
    assert refusal(v.normalise_cpf, value) == (code, MSG[code])
    assert refusal(v.validate_cpf, value) == (code, MSG[code])


def test_cpf_accepts_punctuation_and_spaces():
    assert v.normalise_cpf(" 529.982.247-25 ") == "52998224725"
    assert v.normalise_cpf("529 982 247 25") == "52998224725"
    assert v.normalise_cpf(None) is None and v.normalise_cpf("   ") is None
    assert v.validate_cpf("52998224725") is None


def test_format_cpf():
    assert v.format_cpf("52998224725") == "529.982.247-25"
    assert v.format_cpf("123") == "123"
    assert v.format_cpf(None) == ""


# --- phone ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "digits"), [
    ("(11) 98765-4321", "11987654321"),
    ("(11) 2333-4444", "1123334444"),
    ("(11) 3333-4444", "1133334444"),
    ("(11) 4333-4444", "1143334444"),
    ("(11) 5333-4444", "1153334444"),
    ("+55 (11) 98765-4321", "11987654321"),
    ("+55 11 3333-4444", "1133334444"),
    ("5511987654321", "11987654321"),      # 13 digits with the country code, no +
    ("551133334444", "1133334444"),        # 12 digits with the country code, no +
    ("011987654321", "11987654321"),       # trunk 0 + mobile
    ("01133334444", "1133334444"),         # trunk 0 + landline
    ("11.98765.4321", "11987654321"),
    ("  ", ""), (None, ""), ("", ""),
])
def test_phone_accepted(value, digits):
    assert v.normalise_phone(value) == digits


@pytest.mark.parametrize(("value", "code"), [
    ("(11) 9876a-4321", "phone_chars"), ("11/98765-4321", "phone_chars"),
    ("+1 212 555 1234", "phone_country"), ("+44 20 7946 0958", "phone_country"),
    ("98765-4321", "phone_length"), ("123", "phone_length"),
    ("55119876543210", "phone_length"),    # 14 digits
    ("1198765432100", "phone_length"),     # 13 digits without 55
    ("(10) 98765-4321", "phone_ddd"),      # DDD below 11
    ("(20) 98765-4321", "phone_ddd"),      # no DDD ends in 0
    ("0198765432", "phone_ddd"),           # 10 digits starting with 0: not a trunk prefix
    ("(11) 88765-4321", "phone_mobile"),
    ("(11) 6333-4444", "phone_landline"), ("(11) 1333-4444", "phone_landline"),
    ("(11) 9333-4444", "phone_landline"),
    ("(11) 0333-4444", "phone_landline"),  # a 0 after the DDD is the number's fault, not the DDD's
])
def test_phone_refusals(value, code):
    assert refusal(v.normalise_phone, value) == (code, MSG[code])


def test_ddd_11_is_the_lowest_valid():
    assert v.normalise_phone("(11) 98765-4321") == "11987654321"
    assert v.normalise_phone("(12) 98765-4321") == "12987654321"


def test_format_phone():
    assert v.format_phone("11987654321") == "(11) 98765-4321"
    assert v.format_phone("1133334444") == "(11) 3333-4444"
    assert v.format_phone("123") == "123"
    assert v.format_phone(None) == "" and v.format_phone("") == ""


# --- CEP -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "cep"), [
    ("01310-100", "01310100"), ("01310100", "01310100"), ("01.310-100", "01310100"),
    (" 01310 100 ", "01310100"), (None, ""), ("", ""), ("   ", ""),
])
def test_cep_accepted(value, cep):
    assert v.normalise_cep(value) == cep


@pytest.mark.parametrize(("value", "code"), [
    ("0131a-100", "cep_chars"), ("01310/100", "cep_chars"),
    ("1310-100", "cep_length"), ("013101000", "cep_length"), ("0", "cep_length"),
])
def test_cep_refusals(value, code):
    assert refusal(v.normalise_cep, value) == (code, MSG[code])


def test_format_cep():
    assert v.format_cep("01310100") == "01310-100"
    assert v.format_cep("0131010") == "0131010"
    assert v.format_cep(None) == "" and v.format_cep("") == ""


# --- microchip ------------------------------------------------------------------------------------

def test_microchip_branches():
    assert v.normalise_microchip(None) is None and v.normalise_microchip("  ") is None
    assert v.normalise_microchip("076.000-000 000 001") == "076000000000001"
    # i15: a 15-character code is ISO 11784, and the message says so
    assert refusal(v.normalise_microchip, "07600000000000a") == (
        "microchip_digits", "Microchip de 15 caracteres (ISO 11784) deve conter apenas números.")
    assert refusal(v.normalise_microchip, "chip") == ("microchip_digits", MSG["microchip_digits"])
    # letters outside ASCII are refused before the format rules, with the same code
    assert refusal(v.normalise_microchip, "076çã") == ("microchip_digits", MSG["microchip_digits"])
    assert refusal(v.normalise_microchip, "07600000000000é") == ("microchip_digits", MSG["microchip_digits"])
    # issue 13: full-width digits are normalised to ASCII (one normalisation for every identifier);
    # numerics that are not decimal digits are refused
    assert v.normalise_microchip("０７６000000000001") == "076000000000001"
    assert refusal(v.normalise_microchip, "07600000000000¹")[0] == "not_a_digit"
    code, message = refusal(v.normalise_microchip, "07600000000000")
    assert code == "microchip_length"
    assert message == ("O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) "
                       "nos modelos antigos; foram informados 14.")
    assert refusal(v.validate_microchip, "123")[0] == "microchip_length"
    assert v.validate_microchip("076000000000001") is None


def test_check_digit_ten_becomes_zero():
    # for this base the second check digit sums to 10 (mod 11), written as 0
    assert v.cpf_check_digits("100000028") == "10"
    assert v.is_valid_cpf("100.000.028-10")


@pytest.mark.parametrize(("chip", "code", "message"), [
    ("000123456789012", "microchip_prefix",
     "Microchip ISO 11784 inválido: o código do país ou fabricante não pode ser 000."),
    ("999000000000001", "microchip_test", "Código 999: reservado a microchips de teste, não a animais."),
    ("07600000000000X", "microchip_digits", "Microchip de 15 caracteres (ISO 11784) deve conter apenas números."),
    ("12345G7890", "microchip_hex", "Microchip de 10 caracteres (FDX-A, modelos antigos) aceita só 0-9 e A-F."),
    ("AVID*123*456*78Z", "microchip_digits", "Microchip de 9 caracteres (AVID) deve conter apenas números."),
    ("12345678", "microchip_length",
     "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) nos modelos "
     "antigos; foram informados 8."),
    # hexadecimal but of no known length: the length is what is wrong
    ("A1B2C3", "microchip_length",
     "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) nos modelos "
     "antigos; foram informados 6."),
])
def test_every_microchip_refusal_has_its_code_and_message(chip, code, message):
    """The code is what the form and the import tell apart; the message is what the user reads."""
    assert refusal(v.normalise_microchip, chip) == (code, message)
