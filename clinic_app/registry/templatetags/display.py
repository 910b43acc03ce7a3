"""{% load display %}: registry.display's pt-BR rules as template filters, so a
template never spells a date format or a number rule itself.

    {{ animal.birth_date|br_date }}      -> 05/03/2021
    {{ entry.timestamp|br_datetime }}    -> 05/03/2021 14:07 (clinic's time zone)
    {{ conflict.at|br_time }}            -> 14:07
    {{ value|yes_no }}                   -> Sim / Não
"""

from __future__ import annotations

from django import template

from .. import display

register = template.Library()

# the display functions themselves, under their template names
register.filter("br_date", display.date)
register.filter("br_datetime", display.date_time)
register.filter("br_time", display.time)
register.filter("yes_no", display.yes_no)
