"""Saving the app's create/edit forms without losing anybody's work.

* Optimistic locking: an edit form carries a signed token with the record's
  version and the values it was opened with. The save locks the row, compares
  versions and, when someone else saved in between, writes nothing and answers
  409 with a pt-BR conflict page: what the other person changed, what this user
  changed, and the form pre-filled with the current record plus this user's
  changes (one click saves both).
* Unique identifiers (CPF, microchip) are unique in the database; two identical
  creates racing past the form's uniqueness check make the second INSERT fail
  with IntegrityError, which becomes the field's form error, never a 500.
"""

from __future__ import annotations

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from . import audit

EDIT_SALT = "registry.edit-token"
RACE_MESSAGE = ("Outro cadastro com os mesmos dados foi salvo ao mesmo tempo que este. "
                "Confira os dados e tente de novo.")


def _display_map(instance, fields, values=None) -> dict[str, str]:
    values = values if values is not None else audit.snapshot(instance, fields)
    return {f: audit._display(instance, f, values.get(f)) for f in fields}


def edit_token(instance, fields) -> str:
    return signing.dumps({"v": instance.version, "s": _display_map(instance, fields)}, salt=EDIT_SALT)


def read_token(token: str | None) -> dict | None:
    try:
        data = signing.loads(token or "", salt=EDIT_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("v"), int) else None


class Stale(Exception):
    def __init__(self, current):
        super().__init__("stale form")
        self.current = current


def _unique_race(form, instance) -> None:
    """After an IntegrityError: re-run the uniqueness checks, now that the other
    row is committed, and attach the errors to the fields."""
    try:
        instance.validate_unique()
    except ValidationError as exc:
        form._update_errors(exc)
        return
    form.add_error(None, RACE_MESSAGE)


def create(form, user, request=None):
    """Save a valid create form; returns the object or None (errors on the form)."""
    obj = form.save(commit=False)
    obj.created_by = obj.updated_by = user
    try:
        with transaction.atomic():
            obj.save()
            audit.record(obj, audit.AuditEntry.Action.CREATE, user, new=str(obj), request=request)
    except IntegrityError:
        obj.pk = None
        _unique_race(form, obj)
        return None
    return obj


def update(form, model, pk: int, fields, audited, user, request=None):
    """Save a valid edit form if it is not stale. Returns (obj, n_changes) or
    (None, 0) with errors on the form; raises Stale with the current record."""
    opened = read_token(form.cleaned_data.get("edit_token"))
    try:
        with transaction.atomic():
            current = model.objects.select_for_update().filter(pk=pk).first()
            if current is None:  # removed (merged into another) since the page was opened
                raise Http404("registro removido")
            if opened is None or opened["v"] != current.version:
                raise Stale(current)
            before = audit.snapshot(current, audited)
            obj = form.save(commit=False)
            obj.version = current.version
            obj.updated_by = user
            obj.save()
            n = audit.record_changes(obj, before, user, request=request)
    except IntegrityError:
        _unique_race(form, form.instance)
        return None, 0
    return obj, n


def conflict(form, form_class, current, fields) -> tuple[object, dict]:
    """The conflict page's new form (current record + this user's changes, fresh
    token) and the differences to show."""
    opened = (read_token(form.cleaned_data.get("edit_token")) or {}).get("s") or {}
    now = _display_map(current, fields)
    yours_values = {f: form.cleaned_data.get(f) for f in fields if f in form.cleaned_data}
    yours = _display_map(current, list(yours_values), yours_values)
    label = {f: str(current._meta.get_field(f).verbose_name) for f in fields}
    mine_fields = [f for f in yours if yours[f] != opened.get(f, now[f])]
    theirs = [{"label": label[f], "old": opened[f], "new": now[f], "both": f in mine_fields}
              for f in fields if f in opened and opened[f] != now[f]]
    mine = [{"label": label[f], "old": opened.get(f, ""), "new": yours[f]} for f in mine_fields]
    fresh = form_class(instance=current)
    for f in mine_fields:
        value = yours_values[f]
        fresh.initial[f] = value.pk if hasattr(value, "pk") else value
    fresh.initial["edit_token"] = edit_token(current, fields)
    info = {"theirs": theirs, "mine": mine, "by": current.updated_by.get_username() if current.updated_by else "",
            "at": current.updated_at}
    return fresh, info
