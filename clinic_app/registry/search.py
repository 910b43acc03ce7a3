"""Animal and tutor search, shaped so SQLite answers fast on 50k animals.

* Numeric input (digits with optional punctuation, at least 3 digits) searches
  identifiers: microchip (exact when 15 digits, else prefix), tutor CPF (exact
  when 11 digits, else prefix) and tutor phones (substring, so a number typed
  without DDD is found).
* Text input searches the accent/case-folded animal name and tutor name
  (substring), so "joao" finds "João".

Prefixes are expressed as ranges (``col >= '123' AND col < '123:'``) so they
use the B-tree index on every backend; the matching tutor ids are fetched once
per request and reused by the count and the page queries.
"""

from __future__ import annotations

import re

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils.functional import cached_property

from .models import Animal, Photo, Tutor
from .validators import ascii_digits, fold, only_digits

_NUMERIC = re.compile(r"^[0-9\s.\-()/+]+$")
# Above this many matching tutors, keep the tutor filter as a subquery instead
# of inlining ids (SQL parameter limits, query size).
MAX_INLINE_TUTOR_IDS = 2000


def is_numeric_query(q: str) -> bool:
    return bool(_NUMERIC.match(ascii_digits(q, strict=False))) and len(only_digits(q)) >= 3


def _prefix(field: str, digits: str) -> Q:
    if connection.vendor == "sqlite":
        # SQLite's LIKE cannot use the index; with its byte-wise (BINARY) collation
        # ':' sorts right after '9', so [d, d + ':') holds every string starting with d.
        return Q(**{f"{field}__gte": digits, f"{field}__lt": digits + ":"})
    # Other databases may use linguistic collations (ranges would be wrong): LIKE 'd%'.
    return Q(**{f"{field}__startswith": digits})


def tutor_q(q: str) -> Q:
    q = (q or "").strip()
    if is_numeric_query(q):
        digits = only_digits(q)
        if len(digits) == 11:  # a CPF or a full mobile number: indexed equality
            return Q(cpf=digits) | Q(phone=digits) | Q(phone_secondary=digits)
        if len(digits) > 11:
            return Q(pk__in=[])
        return Q(search_phones__contains=digits) | _prefix("cpf", digits)
    return Q(search_name__contains=fold(q))


def _tutor_filter(q: str) -> Q:
    """tutor_id IN (...): inlined ids when few, else a subquery."""
    sub = Tutor.objects.filter(tutor_q(q)).order_by().values_list("id", flat=True)
    ids = list(sub[: MAX_INLINE_TUTOR_IDS + 1])
    if len(ids) > MAX_INLINE_TUTOR_IDS:
        return Q(tutor_id__in=sub)
    return Q(tutor_id__in=ids) if ids else Q(pk__in=[])


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
            if len(digits) == 15:
                qs = qs.filter(microchip=digits)  # a microchip: nothing else has 15 digits
            else:
                qs = qs.filter(_prefix("microchip", digits) | _tutor_filter(q))
        else:
            qs = qs.filter(Q(search_name__contains=fold(q)) | _tutor_filter(q))
    return qs.order_by("search_name", "id")


LIST_FIELDS = ("id", "name", "species", "breed", "microchip", "is_active", "deceased", "tutor_id",
               "tutor__id", "tutor__name", "tutor__phone")


def with_list_relations(qs: QuerySet) -> QuerySet:
    """Tutor joined, primary photo prefetched: a constant number of queries.
    Only the columns the list shows are loaded."""
    photos = Photo.objects.filter(is_primary=True).only("id", "photo_id", "animal_id", "status", "is_primary",
                                                          "renditions")
    return qs.select_related("tutor").only(*LIST_FIELDS).prefetch_related(
        Prefetch("photos", queryset=photos, to_attr="primary_photos")
    )


class DeferredJoinPaginator(Paginator):
    """Paginates ids first, then loads only that page's rows with relations.

    * The ids come from an index-only query; up to PROBE_LIMIT of them are read
      in one go, which also gives the count for typical searches (one scan
      instead of COUNT(*) + page).
    * Larger results fall back to COUNT(*) and an OFFSET over the covering index.
    Queries per page: at most probe + count + ids + rows + prefetch, whatever
    the page size.
    """

    PROBE_LIMIT = 5000

    def __init__(self, object_list, per_page, *, load=None, probe=True, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.load = load or (lambda qs: qs)
        self.probe = probe  # off for the unfiltered list: COUNT(*) on the index is cheaper

    @cached_property
    def _probe(self) -> list:
        if not self.probe:
            return []
        return list(self.object_list.values_list("pk", flat=True)[: self.PROBE_LIMIT + 1])

    @cached_property
    def count(self) -> int:
        if self.probe and len(self._probe) <= self.PROBE_LIMIT:
            return len(self._probe)
        return self.object_list.count()

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if top <= len(self._probe):
            ids = self._probe[bottom:top]
        else:
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        if ids:
            model = self.object_list.model
            by_id = {obj.pk: obj for obj in self.load(model.objects.filter(pk__in=ids)).order_by()}
            objects = [by_id[i] for i in ids if i in by_id]
        else:
            objects = []
        return self._get_page(objects, number, self)
