"""Every validation rule, with pt-BR messages (unit level)."""

import pytest
from django.core.exceptions import ValidationError
from registry import validators as v


@pytest.mark.parametrize("cpf", ["529.982.247-25", "52998224725", " 111.444.777-35 ", "390.533.447-05"])
def test_valid_cpfs_normalise_to_digits(cpf):
    assert v.normalise_cpf(cpf) == v.only_digits(cpf)


@pytest.mark.parametrize(
    ("cpf", "message"),
    [
        ("529.982.247-24", "CPF inválido: os dígitos verificadores não conferem."),  # 2nd check digit wrong
        ("529.982.247-15", "CPF inválido: os dígitos verificadores não conferem."),  # 1st check digit wrong
        ("111.111.111-11", "CPF inválido: os dígitos verificadores não conferem."),  # repeated digits
        ("000.000.000-00", "CPF inválido: os dígitos verificadores não conferem."),
        ("5299822472", "CPF deve ter 11 dígitos."),
        ("529982247251", "CPF deve ter 11 dígitos."),
        ("529.982.247-2A", "CPF deve conter apenas números (pontos e traço são opcionais)."),
    ],
)
def test_invalid_cpfs(cpf, message):
    with pytest.raises(ValidationError) as exc:
        v.normalise_cpf(cpf)
    assert exc.value.messages == [message]


def test_empty_cpf_is_none():
    assert v.normalise_cpf("") is None
    assert v.normalise_cpf("   ") is None
    assert v.normalise_cpf(None) is None


def test_cpf_check_digit_algorithm_known_values():
    assert v.cpf_check_digits("529982247") == "25"
    assert v.cpf_check_digits("111444777") == "35"
    assert v.is_valid_cpf("52998224725")
    assert not v.is_valid_cpf("52998224726")


def test_format_cpf():
    assert v.format_cpf("52998224725") == "529.982.247-25"


@pytest.mark.parametrize(
    ("chip", "expected"),
    [("076123456789012", "076123456789012"), ("076 1234 5678 9012", "076123456789012"),
     ("985-112-000-123-456", "985112000123456"),
     ("0a1b2c3d4e", "0A1B2C3D4E"), ("0A1B-2C3D-4E", "0A1B2C3D4E"),     # FDX-A, 10 hexadecimal characters
     ("012345678", "012345678"), ("AVID*012*345*678", "012345678"),    # AVID, 9 digits
     # issue 13: any decimal digit (full-width here) is normalised before the format rules
     ("９８５１１２０００１２３４５６", "985112000123456"), ("０ａ１ｂ２ｃ３ｄ４ｅ", "0A1B2C3D4E")],
)
def test_valid_microchips(chip, expected):
    assert v.normalise_microchip(chip) == expected


@pytest.mark.parametrize(("chip", "kind"), [("076123456789012", "iso"), ("0A1B2C3D4E", "fdxa"),
                                            ("012345678", "avid")])
def test_microchip_kinds(chip, kind):
    assert v.microchip_format(chip)[0] == kind


@pytest.mark.parametrize(
    ("chip", "message"),
    [
        ("07612345678901", "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos "
                           "(AVID) nos modelos antigos; foram informados 14."),
        ("0761234567890123", "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos "
                             "(AVID) nos modelos antigos; foram informados 16."),
        ("07612345678901A", "Microchip de 15 caracteres (ISO 11784) deve conter apenas números."),
        ("000123456789012", "Microchip ISO 11784 inválido: o código do país ou fabricante não pode ser 000."),
        ("999123456789012", "Código 999: reservado a microchips de teste, não a animais."),
        ("0A1B2C3D4G", "Microchip de 10 caracteres (FDX-A, modelos antigos) aceita só 0-9 e A-F."),
        ("01234567A", "Microchip de 9 caracteres (AVID) deve conter apenas números."),
        ("12345678", "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos "
                     "(AVID) nos modelos antigos; foram informados 8."),
        ("chip-xyz", "O microchip deve conter apenas números."),
        ("98511200012345²", "Use apenas algarismos de 0 a 9 (o campo contém “²”)."),  # superscript: not a decimal digit
    ],
)
def test_invalid_microchips(chip, message):
    with pytest.raises(ValidationError) as exc:
        v.normalise_microchip(chip)
    assert exc.value.messages == [message]


def test_empty_microchip_is_none():
    assert v.normalise_microchip("") is None


@pytest.mark.parametrize(
    ("phone", "digits", "display"),
    [
        ("(11) 98765-4321", "11987654321", "(11) 98765-4321"),
        ("+55 11 98765-4321", "11987654321", "(11) 98765-4321"),
        ("011 98765 4321", "11987654321", "(11) 98765-4321"),
        ("(21) 3333-4444", "2133334444", "(21) 3333-4444"),
        ("5521333344440"[:12], "2133334444", "(21) 3333-4444"),
    ],
)
def test_phone_normalisation(phone, digits, display):
    assert v.normalise_phone(phone) == digits
    assert v.format_phone(digits) == display


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("98765-4321", "Telefone deve ter DDD + número, ex.: (11) 98765-4321."),
        ("(11) 88765-4321", "Celular com 11 dígitos deve começar com 9 após o DDD."),
        ("(01) 3333-4444", "DDD inválido."),
        ("(11) 9333-4444", "Telefone fixo deve começar com 2, 3, 4 ou 5 após o DDD; celular tem 9 dígitos."),
        ("+1 212 555 0100", "Informe um telefone brasileiro (+55)."),
        ("11 9abc-4321", "Telefone deve conter apenas números, parênteses, espaços e traço."),
    ],
)
def test_invalid_phones(phone, message):
    with pytest.raises(ValidationError) as exc:
        v.normalise_phone(phone)
    assert exc.value.messages == [message]


def test_cep():
    assert v.normalise_cep("01310-100") == "01310100"
    assert v.format_cep("01310100") == "01310-100"
    with pytest.raises(ValidationError) as exc:
        v.normalise_cep("1310-100")
    assert exc.value.messages == ["CEP deve ter 8 dígitos, ex.: 01310-100."]


def test_fold_for_search():
    assert v.fold("  João   da CONCEIÇÃO ") == "joao da conceicao"
