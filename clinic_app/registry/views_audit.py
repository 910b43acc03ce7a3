"""The audit trail reader for Administração (registry.view_audit_trail).

Filters: person (username), record (type + id), action, date range
(dd/mm/aaaa, days in the clinic's time zone); newest first, 50 a page. Shows
who, when (dd/mm/aaaa HH:MM, America/Sao_Paulo), from where and what (field:
old → new; "[anonimizado]" once an erasure redacted the entry). Reading the
trail is not itself recorded (it holds no record's data beyond what each entry
says); an export of it would be, and there is none.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import display as show
from .models import AuditEntry

PER_PAGE = 50
OBJECT_TYPES = (("tutor", "Tutor"), ("animal", "Animal"), ("user", "Conta da equipe"), ("export", "Exportação"))
DETAIL_URL = {"tutor": "tutor_detail", "animal": "animal_detail"}
DATE_ERROR = "Informe uma data válida no formato dd/mm/aaaa."


class AuditFilterForm(forms.Form):
    pessoa = forms.CharField(label="Pessoa (usuário)", required=False, max_length=150)
    tipo = forms.ChoiceField(label="Registro", required=False, choices=[("", "Todos")] + list(OBJECT_TYPES))
    registro = forms.IntegerField(label="Nº do registro", required=False, min_value=0,
                                  error_messages={"invalid": "Informe o número do registro (só dígitos).",
                                                  "min_value": "Informe o número do registro (só dígitos)."})
    acao = forms.ChoiceField(label="Ação", required=False, choices=[("", "Todas")] + list(AuditEntry.Action.choices))
    de = forms.DateField(label="De", required=False, input_formats=[show.DATE_FORMAT],
                         error_messages={"invalid": DATE_ERROR},
                         widget=forms.TextInput(attrs={"placeholder": "dd/mm/aaaa", "inputmode": "numeric"}))
    ate = forms.DateField(label="Até", required=False, input_formats=[show.DATE_FORMAT],
                          error_messages={"invalid": DATE_ERROR},
                          widget=forms.TextInput(attrs={"placeholder": "dd/mm/aaaa", "inputmode": "numeric"}))

    def clean(self):
        data = super().clean()
        if data.get("de") and data.get("ate") and data["de"] > data["ate"]:
            self.add_error("ate", "A data final é anterior à inicial.")
        if data.get("registro") is not None and not data.get("tipo"):
            self.add_error("tipo", "Escolha o tipo do registro.")
        return data


def _local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def filtered(data: dict):
    qs = AuditEntry.objects.all()
    if data.get("pessoa"):
        qs = qs.filter(username__iexact=data["pessoa"].strip())
    if data.get("tipo"):
        qs = qs.filter(object_type=data["tipo"])
    if data.get("registro") is not None:
        qs = qs.filter(object_id=data["registro"])
    if data.get("acao"):
        qs = qs.filter(action=data["acao"])
    if data.get("de"):
        qs = qs.filter(timestamp__gte=_local_midnight(data["de"]))
    if data.get("ate"):
        qs = qs.filter(timestamp__lt=_local_midnight(data["ate"] + timedelta(days=1)))
    return qs.order_by("-timestamp", "-id")


@permission_required("registry.view_audit_trail", raise_exception=True)
@require_GET
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    entries = filtered(form.cleaned_data if form.is_bound and valid else {}) if valid else AuditEntry.objects.none()
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    patterns = {k: reverse(v, args=[987654321]).replace("987654321", "{}") for k, v in DETAIL_URL.items()}
    types = dict(OBJECT_TYPES)
    for e in page.object_list:
        e.type_label = types.get(e.object_type, e.object_type)
        e.url = patterns[e.object_type].format(e.object_id) if e.object_type in patterns else ""
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(request, "registry/admin/audit_list.html", {"form": form, "page": page, "query": query},
                  status=200 if valid else 400)
