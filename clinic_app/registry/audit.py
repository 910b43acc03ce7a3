"""Audit trail: who did what, when and from where.

One AuditEntry per changed field on every save made through the app, and one
per event (sign-in/out, a view of a record, an export, a staff change...).
Every entry made while a request is being served carries the request's
address: views pass ``request=`` explicitly, and entries written from a
signal (a deletion's pre_delete, the admin) fall back to the request
``clinic.middleware.CurrentUserMiddleware`` is serving (``current_request``).
The table is append-only in the database (registry.audit_guard).
"""

from __future__ import annotations

import contextvars

from django.db import models

from . import display
from .auth import address_of
from .models import AuditEntry

# the request being served (set by clinic.middleware.CurrentUserMiddleware)
current_request: contextvars.ContextVar = contextvars.ContextVar("clinic_current_request", default=None)

# What the short history on a record's page leaves out (the full reader shows it).
NOT_IN_SHORT_HISTORY = ("view",)


def address(request=None) -> str | None:
    """The address to store: the given request's, else the one being served."""
    return address_of(request if request is not None else current_request.get())


def _display(instance: models.Model, field_name: str, value) -> str:
    """The value as the trail shows it (registry.display decides)."""
    return display.field_value(instance, field_name, value)


def _user_fields(user):
    if user is not None and getattr(user, "is_authenticated", False):
        return {"user": user, "username": user.get_username()}
    return {"user": None, "username": ""}


def snapshot(instance: models.Model, field_names) -> dict:
    data = {}
    for name in field_names:
        field = instance._meta.get_field(name)
        data[name] = getattr(instance, field.name if not isinstance(field, models.ForeignKey) else name)
    return data


def record_changes(instance: models.Model, before: dict, user, action=AuditEntry.Action.UPDATE,
                   request=None) -> int:
    """Compare `before` (a snapshot) with the saved instance; write one entry per changed field."""
    entries = []
    who = {**_user_fields(user), "ip_address": address(request)}
    for name, old in before.items():
        new = getattr(instance, name)
        if old == new:
            continue
        entries.append(AuditEntry(
            object_type=instance._meta.model_name, object_id=instance.pk, action=action,
            field=str(instance._meta.get_field(name).verbose_name),
            old_value=_display(instance, name, old), new_value=_display(instance, name, new), **who,
        ))
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


def record(instance: models.Model, action: str, user, field: str = "", old: str = "", new: str = "",
           request=None) -> AuditEntry:
    return event(instance._meta.model_name, instance.pk, action, user, field=field, old=old, new=new,
                 request=request)


def event(object_type: str, object_id: int, action: str, user, field: str = "", old: str = "", new: str = "",
          request=None) -> AuditEntry:
    """One entry about something that is not (or no longer) a model instance:
    an export (object_type "export"), a staff account ("user"), a sign-out."""
    return AuditEntry.objects.create(
        object_type=object_type, object_id=object_id or 0, action=action,
        field=field, old_value=old, new_value=new, ip_address=address(request), **_user_fields(user),
    )


def viewed(instance: models.Model, request, page: str) -> None:
    """A person opened a page showing this record's personal data (LGPD: who saw what)."""
    record(instance, AuditEntry.Action.VIEW, request.user, field=page, request=request)


def entries_for(instance: models.Model, limit: int = 200, include_views: bool = False) -> list[AuditEntry]:
    """The short history on a record's page: its changes, newest first (views
    of the page would drown them; the full reader, registry.views_audit, has
    them), with those of every record merged into it (registry.merge); an
    entry of a merged record has ``merged_from`` = its id."""
    from .merge import merged_ids

    kind = instance._meta.model_name
    ids = merged_ids(kind, instance.pk) if kind in ("tutor", "animal") else [instance.pk]
    qs = AuditEntry.objects.filter(object_type=kind, object_id__in=ids)
    if not include_views:
        qs = qs.exclude(action__in=NOT_IN_SHORT_HISTORY)
    entries = list(qs.order_by("-timestamp", "-id")[:limit])
    for entry in entries:
        entry.merged_from = entry.object_id if entry.object_id != instance.pk else None
    return entries


def export_filter(params: dict) -> str:
    """The filter an export used, as the trail shows it: 'busca “silva” · espécie: Cão · situação: Ativos'."""
    from .forms import AnimalSearchForm, species_choices

    species = dict(species_choices())
    active = dict(AnimalSearchForm.ACTIVE_CHOICES)
    parts = [f"busca “{params['q']}”"] if params.get("q") else []
    if params.get("species"):
        parts.append(f"espécie: {species.get(params['species'], params['species'])}")
    parts.append(f"situação: {active.get(str(params.get('active', '1')), params.get('active'))}")
    return " · ".join(parts)


def signed_out(sender, request, user, **kwargs) -> None:
    """user_logged_out (the app's "Sair" and the admin's): who left, from where.
    A session that simply expires has no request to record; the next request
    is anonymous and must sign in (a SIGN_IN entry) again."""
    if user is None:  # logging out an already anonymous session
        return
    event("user", user.pk, AuditEntry.Action.SIGN_OUT, user, field="acesso", new="saída", request=request)
