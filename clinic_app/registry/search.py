"""Animal and tutor search, shaped so SQLite answers fast on 50k animals.

* Numeric input (digits with optional punctuation) searches identifiers:
  microchip (exact when 15 digits, else prefix), tutor CPF (exact when 11
  digits, else prefix) and tutor phones (substring).
* Text input searches the accent/case-folded animal name and tutor name
  (substring), so "joao" finds "João".
"""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from .models import Animal, Photo, Tutor
from .validators import fold, only_digits

_NUMERIC = re.compile(r"^[\d\s.\-()/+]+$")


def is_numeric_query(q: str) -> bool:
    return bool(_NUMERIC.match(q)) and len(only_digits(q)) >= 3


def tutor_ids_matching(q: str) -> QuerySet:
    return Tutor.objects.filter(tutor_q(q)).values("id")


def tutor_q(q: str) -> Q:
    q = q.strip()
    if is_numeric_query(q):
        digits = only_digits(q)
        cond = Q(phone__contains=digits) | Q(phone_secondary__contains=digits)
        if len(digits) == 11:
            cond |= Q(cpf=digits)
        else:
            cond |= Q(cpf__startswith=digits)
        return cond
    return Q(search_name__contains=fold(q))


def animal_queryset(q: str = "", species: str = "", active: str = "1") -> QuerySet:
    qs = Animal.objects.all()
    if active in ("1", "0"):
        qs = qs.filter(is_active=(active == "1"))
    if species:
        qs = qs.filter(species=species)
    q = (q or "").strip()
    if q:
        if is_numeric_query(q):
            digits = only_digits(q)
            chip = Q(microchip=digits) if len(digits) == 15 else Q(microchip__startswith=digits)
            qs = qs.filter(chip | Q(tutor_id__in=tutor_ids_matching(q)))
        else:
            text = fold(q)
            qs = qs.filter(Q(search_name__contains=text) | Q(tutor_id__in=tutor_ids_matching(q)))
    return qs.order_by("search_name", "id")


def with_list_relations(qs: QuerySet) -> QuerySet:
    """Tutor joined, primary photo prefetched: a constant number of queries."""
    return qs.select_related("tutor").prefetch_related(
        Prefetch("photos", queryset=Photo.objects.filter(is_primary=True), to_attr="primary_photos")
    )
