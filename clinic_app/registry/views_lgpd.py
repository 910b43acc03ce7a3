"""LGPD pages of a tutor: consent changes, the data report (HTML and JSON) and
the anonymisation (erasure). Logic in registry.consent and registry.lgpd."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import consent, lgpd
from .models import Photo, Tutor


def perm(codename: str):
    return permission_required(f"registry.{codename}", raise_exception=True)


def _tutor_url(tutor: Tutor, anchor: str = "") -> str:
    return reverse("tutor_detail", args=[tutor.pk]) + anchor


@perm("add_consentrecord")
@require_POST
def consent_change(request, pk: int):
    """Grant or withdraw one purpose: one button on the tutor page."""
    tutor = get_object_or_404(Tutor, pk=pk)
    form = consent.ConsentChangeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_tutor_url(tutor, "#consentimentos"))
    granted, purpose = form.cleaned_data["action"]
    rec = consent.record(tutor, purpose, granted, form.cleaned_data["method"], request.user,
                         note=form.cleaned_data["note"], request=request)
    label = consent.Purpose(purpose).label
    if rec is None:
        messages.info(request, f"{label}: nada mudou (a decisão já estava registrada).")
    elif granted:
        messages.success(request, f"{label}: consentimento registrado.")
    else:
        messages.success(request, f"{label}: consentimento retirado.")
    return redirect(_tutor_url(tutor, "#consentimentos"))


@perm("data_request_tutor")
@require_GET
@never_cache
def data_report(request, pk: int):
    """The tutor's data as a readable page (printable)."""
    tutor = get_object_or_404(Tutor, pk=pk)
    held = lgpd.collect(tutor)
    data = lgpd.report(tutor, held)
    lgpd.record_data_request(tutor, request.user, request, "página para leitura/impressão")
    return render(request, "registry/lgpd/report.html", {
        "tutor": tutor, "data": data, "animals": held.animals, "consent_history": held.consent_history,
        "trail": held.trail, "generated": timezone.now()})


@perm("data_request_tutor")
@require_GET
@never_cache
def data_report_json(request, pk: int):
    """The same data as a JSON file (portability)."""
    tutor = get_object_or_404(Tutor, pk=pk)
    data = lgpd.report(tutor)
    lgpd.record_data_request(tutor, request.user, request, "arquivo JSON")
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="dados-titular-{tutor.pk}-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@perm("erase_tutor")
@require_http_methods(["GET", "POST"])
def erase(request, pk: int):
    """Confirmation page (GET), then the anonymisation (POST)."""
    tutor = get_object_or_404(Tutor, pk=pk)
    erased = lgpd.is_erased(tutor)
    error = ""
    if request.method == "POST" and not erased:
        if request.POST.get("confirm") == "on":
            result = lgpd.erase(tutor, request.user, request=request)
            if result.done:
                messages.success(request, "Dados pessoais do tutor anonimizados. Os animais e o histórico "
                                          "de cadastro foram mantidos.")
            return redirect(_tutor_url(tutor))
        error = "Marque a confirmação para anonimizar os dados deste tutor."
    elif request.method == "POST":
        messages.info(request, "Este tutor já havia sido anonimizado.")
        return redirect(_tutor_url(tutor))
    animals = tutor.animals.order_by("search_name", "id")
    photo_count = Photo.objects.filter(animal__tutor=tutor).count()
    return render(request, "registry/lgpd/erase_confirm.html", {
        "tutor": tutor, "animals": animals, "photo_count": photo_count, "erased": erased,
        "error": error, "anonymised_name": lgpd.anonymised_name(tutor.pk),
    }, status=400 if error else 200)
