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


@register.filter
def br_date(value) -> str:
    return display.date(value)


@register.filter
def br_datetime(value) -> str:
    return display.date_time(value)


@register.filter
def br_time(value) -> str:
    return display.time(value)


@register.filter
def yes_no(value) -> str:
    return display.yes_no(value)
