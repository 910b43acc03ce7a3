"""Likely duplicates of a tutor being registered: same phone, same e-mail, or a
similar name (every word of the name, or the typo-tolerant search's nearest
hits). Used by tutor_create before saving."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from . import search
from .models import Tutor
from .validators import fold

MAX_SHOWN = 8


@dataclass
class Candidate:
    tutor: Tutor
    reasons: list[str]


def find(data: dict, exclude_pk: int | None = None) -> list[Candidate]:
    found: dict[int, Candidate] = {}

    def add(tutor: Tutor, reason: str) -> None:
        cand = found.setdefault(tutor.pk, Candidate(tutor, []))
        if reason not in cand.reasons:
            cand.reasons.append(reason)

    phones = [p for p in (data.get("phone"), data.get("phone_secondary")) if p]
    if phones:
        q = Q(phone__in=phones) | Q(phone_secondary__in=phones)
        for t in Tutor.objects.filter(q).exclude(pk=exclude_pk)[:MAX_SHOWN]:
            add(t, "mesmo telefone")
    email = (data.get("email") or "").strip()
    if email:
        for t in Tutor.objects.filter(email__iexact=email).exclude(pk=exclude_pk)[:MAX_SHOWN]:
            add(t, "mesmo e-mail")
    name = data.get("name") or ""
    words = [w for w in fold(name).split() if len(w) > 2]  # "da", "de", "e" say nothing
    if len(words) >= 2:
        result = search.search_tutors(" ".join(words), limit=MAX_SHOWN * 4)
        tutors = search.ordered(Tutor.objects.exclude(pk=exclude_pk), result.ids)
        for t in tutors:
            folded = fold(t.name)
            if result.approximate or all(w in folded.split() for w in words):
                add(t, "nome parecido" if result.approximate else "mesmo nome")
    return list(found.values())[:MAX_SHOWN]
