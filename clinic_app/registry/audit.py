"""Audit trail: one AuditEntry per changed field on every save made through the app."""

from __future__ import annotations

from django.db import models

from .auth import address_of
from .models import AuditEntry

# Values whose display differs from the stored one.
_DISPLAY = {
    "cpf": "cpf_display",
    "phone": "phone_display",
    "phone_secondary": "phone_secondary_display",
    "cep": "cep_display",
}


def _display(instance: models.Model, field_name: str, value) -> str:
    if value is None or value == "":
        return ""
    field = instance._meta.get_field(field_name)
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return "Sim" if value else "Não"
    if isinstance(field, models.DateField) and hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    if isinstance(field, models.ForeignKey):
        return str(value)
    if field_name in ("cpf",):
        from .validators import format_cpf

        return format_cpf(value)
    if field_name in ("phone", "phone_secondary"):
        from .validators import format_phone

        return format_phone(value)
    if field_name == "cep":
        from .validators import format_cep

        return format_cep(value)
    if isinstance(value, float) or hasattr(value, "quantize"):
        return str(value).replace(".", ",")
    return str(value)


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


def record_changes(instance: models.Model, before: dict, user, action=AuditEntry.Action.UPDATE) -> int:
    """Compare `before` (a snapshot) with the saved instance; write one entry per changed field."""
    entries = []
    who = _user_fields(user)
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
           request=None) -> None:
    AuditEntry.objects.create(
        object_type=instance._meta.model_name, object_id=instance.pk, action=action,
        field=field, old_value=old, new_value=new, ip_address=address_of(request), **_user_fields(user),
    )


def entries_for(instance: models.Model, limit: int = 200) -> list[AuditEntry]:
    """The record's history, with that of every record merged into it
    (registry.merge); an entry of a merged record has ``merged_from`` = its id."""
    from .merge import merged_ids

    kind = instance._meta.model_name
    ids = merged_ids(kind, instance.pk) if kind in ("tutor", "animal") else [instance.pk]
    entries = list(AuditEntry.objects.filter(object_type=kind, object_id__in=ids)
                   .order_by("-timestamp", "-id")[:limit])
    for entry in entries:
        entry.merged_from = entry.object_id if entry.object_id != instance.pk else None
    return entries
