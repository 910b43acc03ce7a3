"""Brazilian document/contact validation and normalisation (pt-BR messages)."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

_NON_DIGITS = re.compile(r"[^0-9]+")


def ascii_digits(value: str | None, *, strict: bool = True) -> str:
    """The one normalisation of every identifier the clinic types (CPF, phone,
    CEP, microchip, numeric search): any Unicode *decimal* digit (fullwidth
    '１', Arabic-Indic '١', Devanagari...) becomes its ASCII digit and
    compatibility forms of punctuation/spaces become ASCII (NFKC). Characters
    that are numeric but not decimal digits (superscripts '²', circled '①',
    fractions, Roman numerals) are refused (strict) or dropped: Python's
    isdigit() accepts some of them and int() then fails.
    """
    text = str(value or "")
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch) == "Nd":
            out.append(str(unicodedata.decimal(ch)))
        elif ch.isnumeric():
            if strict:
                raise ValidationError(
                    "Use apenas algarismos de 0 a 9 (o campo contém “%(ch)s”).", code="not_a_digit", params={"ch": ch})
        else:
            out.append(unicodedata.normalize("NFKC", ch))
    return "".join(out)


def only_digits(value: str | None) -> str:
    """ASCII digits of a value (after ascii_digits; non-decimal numerics dropped)."""
    return _NON_DIGITS.sub("", ascii_digits(value, strict=False))


def fold(value: str | None) -> str:
    """Lower-case, accent-free text used for accent-insensitive search."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


# --- CPF --------------------------------------------------------------------

def cpf_check_digits(first9: str) -> str:
    digits = [int(d) for d in first9]
    total = sum(d * w for d, w in zip(digits, range(10, 1, -1)))
    d1 = (total * 10) % 11 % 10
    digits.append(d1)
    total = sum(d * w for d, w in zip(digits, range(11, 1, -1)))
    d2 = (total * 10) % 11 % 10
    return f"{d1}{d2}"


def is_valid_cpf(value: str) -> bool:
    cpf = only_digits(value)
    if len(cpf) != 11 or cpf == cpf[0] * 11:
        return False
    return cpf_check_digits(cpf[:9]) == cpf[9:]


def normalise_cpf(value: str | None) -> str | None:
    """Return the 11 digits of a valid CPF, None when empty; raise otherwise."""
    if value is None or not str(value).strip():
        return None
    raw = ascii_digits(str(value)).strip()
    if re.search(r"[^0-9.\-\s]", raw):
        raise ValidationError("CPF deve conter apenas números (pontos e traço são opcionais).", code="cpf_chars")
    cpf = only_digits(raw)
    if len(cpf) != 11:
        raise ValidationError("CPF deve ter 11 dígitos.", code="cpf_length")
    if not is_valid_cpf(cpf):
        raise ValidationError("CPF inválido: os dígitos verificadores não conferem.", code="cpf_invalid")
    return cpf


def validate_cpf(value: str) -> None:
    normalise_cpf(value)


def format_cpf(value: str | None) -> str:
    cpf = only_digits(value)
    if len(cpf) != 11:
        return value or ""
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


# --- Phone ------------------------------------------------------------------

def normalise_phone(value: str | None) -> str:
    """Return DDD + number as digits (10 for landline, 11 for mobile)."""
    if value is None or not str(value).strip():
        return ""
    raw = ascii_digits(str(value)).strip()
    if re.search(r"[^0-9()+\-.\s]", raw):
        raise ValidationError("Telefone deve conter apenas números, parênteses, espaços e traço.", code="phone_chars")
    digits = only_digits(raw)
    if raw.startswith("+") or (len(digits) in (12, 13) and digits.startswith("55")):
        if not digits.startswith("55"):
            raise ValidationError("Informe um telefone brasileiro (+55).", code="phone_country")
        digits = digits[2:]
    if len(digits) in (11, 12) and digits.startswith("0"):  # 0 + DDD (trunk prefix)
        digits = digits[1:]
    if len(digits) not in (10, 11):
        raise ValidationError("Telefone deve ter DDD + número, ex.: (11) 98765-4321.", code="phone_length")
    if "0" in digits[:2]:  # Brazil's DDDs run from 11 to 99 and none has a 0 (Anatel)
        raise ValidationError("DDD inválido.", code="phone_ddd")
    if len(digits) == 11 and digits[2] != "9":
        raise ValidationError("Celular com 11 dígitos deve começar com 9 após o DDD.", code="phone_mobile")
    if len(digits) == 10 and digits[2] not in "2345":
        raise ValidationError("Telefone fixo deve começar com 2, 3, 4 ou 5 após o DDD; celular tem 9 dígitos.", code="phone_landline")
    return digits


def format_phone(value: str | None) -> str:
    d = only_digits(value)
    if len(d) == 11:
        return f"({d[:2]}) {d[2:7]}-{d[7:]}"
    if len(d) == 10:
        return f"({d[:2]}) {d[2:6]}-{d[6:]}"
    return value or ""


# --- CEP --------------------------------------------------------------------

def normalise_cep(value: str | None) -> str:
    if value is None or not str(value).strip():
        return ""
    raw = ascii_digits(str(value)).strip()
    if re.search(r"[^0-9.\-\s]", raw):
        raise ValidationError("CEP deve conter apenas números.", code="cep_chars")
    cep = only_digits(raw)
    if len(cep) != 8:
        raise ValidationError("CEP deve ter 8 dígitos, ex.: 01310-100.", code="cep_length")
    return cep


def format_cep(value: str | None) -> str:
    d = only_digits(value)
    return f"{d[:5]}-{d[5:]}" if len(d) == 8 else (value or "")


# --- Microchip ----------------------------------------------------------------

def normalise_microchip(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    # issue 13's normalisation first (any decimal digit -> ASCII, superscripts
    # and other numerics refused), then the format rules of microchip_format().
    raw = re.sub(r"[\s.\-*]", "", ascii_digits(str(value)))
    if not raw.isascii():
        raise ValidationError("O microchip deve conter apenas números.", code="microchip_digits")
    return microchip_format(raw)[1]


def microchip_format(raw: str) -> tuple[str, str]:
    """(kind, stored value) of a microchip code without separators; raises otherwise.

    * ``iso``: ISO 11784 (FDX-B), 15 decimal digits; the first three are an ISO
      3166 numeric country code (001-899) or a manufacturer code (900-998);
      999 is reserved for test transponders.
    * ``fdxa``: the older FDX-A / 10-character hexadecimal codes (stored upper case).
    * ``avid``: the older 9-digit AVID codes (often written AVID*012*345*678).
    """
    upper = raw.upper()
    if upper.startswith("AVID"):
        upper = upper[4:]
    if len(upper) == 15:
        if not upper.isdigit():
            raise ValidationError("Microchip de 15 caracteres (ISO 11784) deve conter apenas números.",
                                  code="microchip_digits")
        prefix = int(upper[:3])
        if prefix == 0:
            raise ValidationError("Microchip ISO 11784 inválido: o código do país ou fabricante não pode ser 000.",
                                  code="microchip_prefix")
        if prefix == 999:
            raise ValidationError("Código 999: reservado a microchips de teste, não a animais.",
                                  code="microchip_test")
        return "iso", upper
    if len(upper) == 10:
        if not re.fullmatch(r"[0-9A-F]{10}", upper):
            raise ValidationError("Microchip de 10 caracteres (FDX-A, modelos antigos) aceita só 0-9 e A-F.",
                                  code="microchip_hex")
        return "fdxa", upper
    if len(upper) == 9:
        if not upper.isdigit():
            raise ValidationError("Microchip de 9 caracteres (AVID) deve conter apenas números.",
                                  code="microchip_digits")
        return "avid", upper
    if not re.fullmatch(r"[0-9A-F]*", upper):
        raise ValidationError("O microchip deve conter apenas números.", code="microchip_digits")
    raise ValidationError(
        "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) nos modelos "
        "antigos; foram informados %(n)d.",
        code="microchip_length",
        params={"n": len(upper)},
    )


def validate_microchip(value: str) -> None:
    normalise_microchip(value)
