"""Audit trail: one AuditEntry per changed field on every save made through the app."""

from __future__ import annotations

from django.db import models

from . import display
from .auth import address_of
from .models import AuditEntry


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


def entries_for(instance: models.Model, limit: int = 200):
    return (AuditEntry.objects.filter(object_type=instance._meta.model_name, object_id=instance.pk)
            .order_by("-timestamp", "-id")[:limit])
