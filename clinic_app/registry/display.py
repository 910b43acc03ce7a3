"""How a value is shown to a person, in pt-BR: the display rules, once.

Every page, the audit trail, the edit-conflict page and the CSV export show
values through these functions (templates through the ``display`` filter
library, registry/templatetags/display.py), so a rule such as "weights without
trailing zeros, with a decimal comma" lives here and nowhere else:

* dates dd/mm/aaaa, date-times dd/mm/aaaa HH:MM in the clinic's time zone;
* decimals with a comma and no trailing zeros ("4,2", "12", "0,35"), thousands
  grouped with a dot on pages ("1.200 kg") and not in the CSV;
* Sim / Não;
* CPF 000.000.000-00, phone (00) 00000-0000 / (00) 0000-0000, CEP 00000-000
  (validators.format_* are the primitives; this module decides that a field is
  shown with them);
* a choice's label rather than its stored code;
* gender agreement with the animal's sex: castrado / castrada, and the neutral
  "castrado(a)" when the sex is unknown;
* an age in years and months ("2 anos e 1 mês", "cerca de 3 meses").

Plain functions of values: no database access, safe to call per CSV row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.utils import timezone

from . import validators

DATE_FORMAT = "%d/%m/%Y"  # dd/mm/aaaa (also the forms' date input format)
TIME_FORMAT = "%H:%M"
EMPTY = ""  # what an absent value shows as (templates add their own dash where they want one)



# --- generic values --------------------------------------------------------------------

def yes_no(value) -> str:
    return "Sim" if value else "Não"


def date(value: dt.date | None) -> str:
    """dd/mm/aaaa; a datetime is first put in the clinic's time zone."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.strftime(DATE_FORMAT)


def date_time(value: dt.datetime | None) -> str:
    """dd/mm/aaaa HH:MM in the clinic's time zone."""
    if value is None or value == "":
        return EMPTY
    return f"{date(value)} {time(value)}"


def time(value: dt.datetime | None) -> str:
    """HH:MM in the clinic's time zone."""
    if value is None or value == "":
        return EMPTY
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(TIME_FORMAT)


def decimal(value, *, grouping: bool = True) -> str:
    """4,2 · 12 · 0,35 · 1.200 (``grouping=False``: 1200, for spreadsheets)."""
    if value is None or value == "":
        return EMPTY
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{number.normalize():f}"
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = text.partition(".")
    if grouping:
        whole = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{whole},{frac}" if frac else f"{sign}{whole}"


def weight(value, *, grouping: bool = True) -> str:
    """4,2 kg · 12 kg · 0,35 kg · 1.200 kg."""
    number = decimal(value, grouping=grouping)
    return f"{number} kg" if number else EMPTY


# --- identifiers -----------------------------------------------------------------------

def cpf(value: str | None) -> str:
    return validators.format_cpf(value) if value else EMPTY


def phone(value: str | None) -> str:
    return validators.format_phone(value) if value else EMPTY


def cep(value: str | None) -> str:
    return validators.format_cep(value) if value else EMPTY


def microchip(value: str | None) -> str:
    """The written form of a stored code (validators.microchip_format), never a
    bare run of digits: ISO 11784 as country/manufacturer code and number
    ("076 123456789012"), AVID as "AVID*012*345*678", FDX-A in two halves
    ("0A123 45678"). Forms read every one back (normalise_microchip), and a
    spreadsheet keeps each as text with its leading zeros."""
    if not value:
        return EMPTY
    if len(value) == 15:
        return f"{value[:3]} {value[3:]}"
    if len(value) == 9:
        return f"AVID*{value[:3]}*{value[3:6]}*{value[6:]}"
    if len(value) == 10:
        return f"{value[:5]} {value[5:]}"
    return value


# Field name -> how a value of that field is shown (fields whose display differs
# from the stored value and is not implied by the field's type).
BY_FIELD = {
    "cpf": cpf,
    "phone": phone,
    "phone_secondary": phone,
    "cep": cep,
}


# --- animals ---------------------------------------------------------------------------

def agree(sex: str | None, masculine: str, feminine: str, neutral: str | None = None) -> str:
    """The word that agrees with the animal's sex; the neutral form (default
    "masculine(a)"-style, e.g. "castrado(a)") when the sex is unknown."""
    from .models import Animal  # models imports this module at load time

    if sex == Animal.Sex.FEMALE:
        return feminine
    if sex == Animal.Sex.MALE:
        return masculine
    return neutral if neutral is not None else f"{masculine}(a)"


def neutered(sex: str | None) -> str:
    return agree(sex, "castrado", "castrada")


def age(birth: dt.date | None, end: dt.date, *, estimated: bool = False) -> str:
    """Whole years and months from ``birth`` to ``end``: "2 anos e 1 mês",
    "5 meses", "0 meses"; "cerca de ..." when the birth date is estimated."""
    if birth is None:
        return EMPTY
    months = (end.year - birth.year) * 12 + end.month - birth.month
    if end.day < birth.day:
        months -= 1
    years, months = divmod(max(months, 0), 12)
    parts = []
    if years:
        parts.append(f"{years} ano" + ("s" if years > 1 else ""))
    if months or not years:
        parts.append(f"{months} " + ("mês" if months == 1 else "meses"))
    text = " e ".join(parts)
    return f"cerca de {text}" if estimated else text


def choice_label(field: models.Field, value) -> str:
    """The label of a stored choice (the code itself when it is not one of them)."""
    if value is None or value == "":
        return EMPTY
    return str(dict(field.flatchoices).get(value, value))


# --- any model field ---------------------------------------------------------------------

def field_value(model: type[models.Model] | models.Model, field_name: str, value) -> str:
    """How the value of ``model.field_name`` is shown: the audit trail's old and
    new values and the edit-conflict page use this."""
    if value is None or value == "":
        return EMPTY
    field = model._meta.get_field(field_name)
    if field_name in BY_FIELD:
        return BY_FIELD[field_name](value)
    if getattr(field, "choices", None):
        return choice_label(field, value)
    if isinstance(field, models.ForeignKey) and not isinstance(value, models.Model):
        # a key (e.g. a species code): the related record as it calls itself
        value = field.related_model._default_manager.filter(pk=value).first() or value
        return str(value)
    if isinstance(field, models.BooleanField):
        return yes_no(value)
    if isinstance(field, models.DateTimeField) and isinstance(value, dt.datetime):
        return date_time(value)
    if isinstance(field, models.DateField) and isinstance(value, dt.date):
        return date(value)
    if isinstance(field, models.DecimalField | models.FloatField):
        return decimal(value)
    return str(value)
