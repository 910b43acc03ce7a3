"""Merging two tutors or two animals, in the app (Administração only).

One URL per kind, starting from the record whose page had "Mesclar com…":

* GET without ``com``: choose the other record (the app's search);
* GET ``?com=<id>``: the two records side by side, a radio per differing field
  and the record that stays; carries a signed token with both versions;
* POST ``step=review``: the plan (what stays, what moves, what is let go, that
  the other record is removed), nothing changed yet;
* POST ``step=confirm``: the merge (registry.merge.perform). A record changed
  after the comparison was opened makes it refuse (409) and show the fresh
  comparison.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from . import merge, search
from .forms import TutorSearchForm
from .models import Animal, Photo, Tutor
from .views import perm

log = logging.getLogger(__name__)


@perm("merge_tutor")
def tutor_merge(request, pk: int):
    return _merge(request, merge.TUTOR, pk)


@perm("merge_animal")
def animal_merge(request, pk: int):
    return _merge(request, merge.ANIMAL, pk)


def _detail_url(kind, pk) -> str:
    return reverse(f"{kind.code}_detail", args=[pk])


def _other(kind, record, request):
    value = request.POST.get("com") if request.method == "POST" else request.GET.get("com")
    if value is None or value == "":
        return None
    if not (str(value).isascii() and str(value).isdigit()) or int(value) == record.pk:
        raise Http404("registro inválido")
    return get_object_or_404(_queryset(kind), pk=int(value))


def _queryset(kind):
    return Animal.objects.select_related("tutor", "species") if kind is merge.ANIMAL else Tutor.objects.all()


def _merge(request, kind, pk: int):
    record = get_object_or_404(_queryset(kind), pk=pk)
    other = _other(kind, record, request)
    if other is None:
        if request.method == "POST":
            messages.error(request, f"Escolha o outro cadastro de {kind.noun} para mesclar.")
            return redirect(reverse(f"{kind.code}_merge", args=[pk]))
        return _pick(request, kind, record)
    if request.method != "POST":
        return _compare(request, kind, record, other)

    seen = merge.read_token(kind, request.POST.get("token"), record.pk, other.pk)
    if seen is None:
        return _compare(request, kind, record, other, status=400,
                        error="A comparação não pôde ser lida. Confira os cadastros e escolha de novo.")
    if not merge.is_current(seen, record, other):
        return _compare(request, kind, record, other, status=409, stale=True)
    rows = merge.compare(kind, record, other)
    choices, errors = merge.parse_choices(kind, rows, request.POST)
    survivor_side = request.POST.get("survivor")
    if survivor_side not in (merge.A, merge.B):
        errors["survivor"] = "Escolha qual cadastro permanece."
    if errors:
        return _compare(request, kind, record, other, status=400, errors=errors, posted=request.POST)
    try:
        plan = merge.build_plan(kind, record, other, survivor_side, choices)
    except merge.Invalid as exc:
        return _compare(request, kind, record, other, status=400, error=str(exc), posted=request.POST)

    if request.POST.get("step") != "confirm":
        return render(request, "registry/merge_confirm.html", {
            "kind": kind, "record": record, "other": other, "plan": plan, "token": request.POST.get("token"),
            "choices": choices, "survivor_side": survivor_side,
        })
    try:
        done = merge.perform(plan, seen, request.user, request=request)
    except merge.Stale:
        return _compare(request, kind, record, other, status=409, stale=True)
    except merge.Invalid as exc:
        return _compare(request, kind, record, other, status=400, error=str(exc), posted=request.POST)
    log.info("%s merge %s -> %s by user id %s", kind.code, done.absorbed_id, done.survivor_id, request.user.pk)
    messages.success(request, f"Cadastros mesclados: o cadastro nº {done.absorbed_id} foi incorporado a este "
                              f"e removido. O histórico dos dois fica abaixo.")
    return redirect(_detail_url(kind, done.survivor_id))


def _pick(request, kind, record):
    form = TutorSearchForm(request.GET or None)
    q = form.cleaned_data.get("q", "") if form.is_valid() else ""
    results = []
    if q:
        if kind is merge.TUTOR:
            result = search.search_tutors(q, limit=30)
            results = [t for t in search.ordered(Tutor.objects.all(), result.ids) if t.pk != record.pk]
        else:
            result = search.search_animals(q, active="all", limit=30)
            results = [a for a in search.ordered(Animal.objects.select_related("tutor", "species"), result.ids)
                       if a.pk != record.pk]
    form.fields["q"].widget.attrs["placeholder"] = (
        "Nome, CPF ou telefone" if kind is merge.TUTOR else "Nome do animal ou do tutor, microchip")
    return render(request, "registry/merge_pick.html", {
        "kind": kind, "record": record, "picker_form": form, "picker_q": q, "results": results,
    })


def _counts(kind, obj) -> str:
    if kind is merge.TUTOR:
        n = obj.animals.count()
        return f"{n} anima{'l' if n == 1 else 'is'}"
    n = Photo.objects.filter(animal=obj).count()
    return f"{n} foto{'' if n == 1 else 's'}"


def _compare(request, kind, record, other, status=200, errors=None, error="", stale=False, posted=None):
    rows = merge.compare(kind, record, other)
    posted = posted or {}
    for row in rows:
        row.picked = posted.get(f"f_{row.name}", row.default)
    return render(request, "registry/merge_compare.html", {
        "kind": kind, "record": record, "other": other, "rows": rows,
        "differing": [r for r in rows if r.differs], "same": [r for r in rows if not r.differs],
        "token": merge.token(kind, record, other), "errors": errors or {}, "error": error, "stale": stale,
        "survivor_side": posted.get("survivor", merge.A),
        "counts": {"a": _counts(kind, record), "b": _counts(kind, other)},
    }, status=status)
