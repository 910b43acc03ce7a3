"""Merging two records of the same tutor, or of the same animal (Administração).

The flow (registry.views_merge): compare the two records side by side and pick,
field by field, the value that stays; review a plan that says exactly what will
happen; confirm. Nothing changes before the confirmation, and the confirmation
is refused when either record changed after the comparison was opened (the
comparison carries a signed token with both versions, as the edit forms do:
registry.editing).

What a merge does, in one transaction with both rows locked:

* everything that points at the absorbed record moves to the survivor: a
  tutor's animals (and whatever else references a tutor), an animal's photos
  (the survivor keeps its principal photo; if it had none, the absorbed one's
  becomes the principal). Moved records get a new version, so a form opened on
  them before the merge is stale, never silently overwritten;
* the absorbed record is removed first (its unique CPF / microchip are free for
  the survivor to take), then the survivor is saved with the chosen values;
* the audit trail is append-only: MERGE entries on the survivor (each changed
  field, and a summary), on the absorbed record and on each moved animal; a
  MergeRecord keeps the absorbed record's data and what moved, so the
  survivor's history shows the absorbed record's past entries too
  (``merged_ids``) and a link to the absorbed record leads to the survivor;
* the search index follows by its triggers (moves are UPDATEs of tutor_id, the
  removal a DELETE, the survivor's save an UPDATE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db import models, transaction
from django.db.models import F

from . import audit
from . import display as show
from .models import Animal, AuditEntry, MergeRecord, Photo, TimeStamped, Tutor

MERGE_SALT = "registry.merge-token"
A, B, BOTH = "a", "b", "both"


@dataclass(frozen=True)
class Kind:
    code: str               # MergeRecord.Kind and AuditEntry.object_type
    model: type[models.Model]
    fields: tuple[str, ...]  # the fields chosen one by one (leaders)
    followers: dict          # field -> the leader whose side it follows
    joinable: frozenset      # text fields that may keep both values
    noun: str                # "tutor" / "animal"
    plural: str


TUTOR = Kind(
    code="tutor", model=Tutor,
    fields=("name", "cpf", "phone", "phone_secondary", "email", "cep", "street", "number", "complement",
            "neighbourhood", "city", "uf", "notes"),
    followers={}, joinable=frozenset({"notes"}), noun="tutor", plural="tutores",
)
ANIMAL = Kind(
    code="animal", model=Animal,
    fields=("name", "species", "breed", "sex", "neutered", "birth_date", "coat", "microchip", "weight_kg", "tutor",
            "is_active", "deceased", "notes"),
    followers={"birth_date_estimated": "birth_date", "deceased_on": "deceased"},
    joinable=frozenset({"notes", "coat"}), noun="animal", plural="animais",
)
KINDS = {k.code: k for k in (TUTOR, ANIMAL)}


class Stale(Exception):
    """One of the records changed (or disappeared) after the comparison was opened."""


class Invalid(Exception):
    """The chosen combination cannot be saved; the message is pt-BR for the page."""


# --- values and their display ------------------------------------------------------

def _attname(kind: Kind, name: str) -> str:
    return kind.model._meta.get_field(name).attname


def raw(kind: Kind, obj, name: str):
    return getattr(obj, _attname(kind, name))


def display(kind: Kind, obj, name: str) -> str:
    value = getattr(obj, name)
    if name == "birth_date" and value:
        text = show.date(value)
        return f"{text} (aproximada)" if obj.birth_date_estimated else text
    if name == "deceased":
        if not value or not obj.deceased_on:
            return show.yes_no(value)
        return f"{show.yes_no(True)}, em {show.date(obj.deceased_on)}"
    if name == "weight_kg" and value is not None:
        return obj.weight_display
    if name == "neutered":
        return show.yes_no(value)
    if name == "is_active":
        return "Ativo" if value else "Arquivado"
    return audit._display(obj, name, value)


def label(kind: Kind, name: str) -> str:
    text = str(kind.model._meta.get_field(name).verbose_name)
    return {"castrado(a)": "Castrado(a)", "ativo": "Situação", "óbito": "Óbito", "cpf": "CPF", "cep": "CEP",
            "uf": "UF"}.get(text, text[:1].upper() + text[1:])


def _group_value(kind: Kind, obj, name: str) -> tuple:
    names = [name, *(f for f, leader in kind.followers.items() if leader == name)]
    return tuple(raw(kind, obj, n) for n in names)


def _empty(value) -> bool:
    return all(v in (None, "") for v in value) if isinstance(value, tuple) else value in (None, "")


@dataclass
class Row:
    name: str
    label: str
    a: str
    b: str
    differs: bool
    joinable: bool
    default: str


def compare(kind: Kind, a, b) -> list[Row]:
    rows = []
    for name in kind.fields:
        va, vb = _group_value(kind, a, name), _group_value(kind, b, name)
        differs = va != vb
        joinable = differs and name in kind.joinable and not _empty(va) and not _empty(vb)
        default = BOTH if joinable else (B if _empty(va) and not _empty(vb) else A)
        rows.append(Row(name, label(kind, name), display(kind, a, name), display(kind, b, name), differs,
                        joinable, default))
    return rows


# --- the signed comparison token -------------------------------------------------------

def token(kind: Kind, a, b) -> str:
    return signing.dumps({"k": kind.code, "a": a.pk, "va": a.version, "b": b.pk, "vb": b.version}, salt=MERGE_SALT)


def read_token(kind: Kind, value: str | None, a_pk: int, b_pk: int) -> dict | None:
    try:
        data = signing.loads(value or "", salt=MERGE_SALT)
    except signing.BadSignature:
        return None
    ok = isinstance(data, dict) and data.get("k") == kind.code and data.get("a") == a_pk and data.get("b") == b_pk
    return data if ok and isinstance(data.get("va"), int) and isinstance(data.get("vb"), int) else None


def is_current(data: dict, a, b) -> bool:
    return data["va"] == a.version and data["vb"] == b.version


# --- the plan ------------------------------------------------------------------------------

@dataclass
class Plan:
    kind: Kind
    survivor: Any
    absorbed: Any
    choices: dict[str, str]                  # leader field -> a / b / both
    values: dict[str, Any] = field(default_factory=dict)   # attname -> value the survivor gets
    changes: list[dict] = field(default_factory=list)      # survivor fields that change
    discarded: list[dict] = field(default_factory=list)    # absorbed values not kept
    moves: list[dict] = field(default_factory=list)        # what moves to the survivor
    photo_note: str = ""


def parse_choices(kind: Kind, rows: list[Row], data) -> tuple[dict[str, str], dict[str, str]]:
    """The side picked for each differing field, from the POSTed radios; errors per field."""
    choices, errors = {}, {}
    for row in rows:
        if not row.differs:
            continue
        picked = data.get(f"f_{row.name}")
        allowed = (A, B, BOTH) if row.joinable else (A, B)
        if picked not in allowed:
            errors[row.name] = f"Escolha o valor de “{row.label}” que fica."
        else:
            choices[row.name] = picked
    return choices, errors


def _joined(x: str, y: str) -> str:
    return f"{x}\n\n{y}" if x and y else x or y


def build_plan(kind: Kind, a, b, survivor_side: str, choices: dict[str, str]) -> Plan:
    survivor, absorbed = (a, b) if survivor_side == A else (b, a)
    by_side = {A: a, B: b}
    plan = Plan(kind, survivor, absorbed, choices)
    for name in kind.fields:
        side = choices.get(name, A)
        group = [name, *(f for f, leader in kind.followers.items() if leader == name)]
        for n in group:
            att = _attname(kind, n)
            if side == BOTH:
                plan.values[att] = _joined(getattr(a, att), getattr(b, att))
            else:
                plan.values[att] = getattr(by_side[side], att)
    # what the survivor's page will show differently, and what is let go
    preview = kind.model(**{f.attname: getattr(survivor, f.attname) for f in kind.model._meta.concrete_fields})
    for att, value in plan.values.items():
        setattr(preview, att, value)
    for name in kind.fields:
        before, after = display(kind, survivor, name), display(kind, preview, name)
        if before != after:
            plan.changes.append({"label": label(kind, name), "old": before, "new": after})
        lost = display(kind, absorbed, name)
        if lost and lost != after and choices.get(name) != BOTH and lost not in after:
            plan.discarded.append({"label": label(kind, name), "value": lost})
    _check(kind, preview)
    if kind is TUTOR:
        n = absorbed.animals.count()
        if n:
            names = ", ".join(absorbed.animals.order_by("search_name").values_list("name", flat=True)[:20])
            plan.moves.append({"label": "anima" + ("l" if n == 1 else "is"), "count": n, "names": names})
    else:
        n = absorbed.photos.count()
        if n:
            plan.moves.append({"label": "foto" + ("" if n == 1 else "s"), "count": n, "names": ""})
            has_primary = survivor.photos.filter(is_primary=True).exists()
            if has_primary:
                plan.photo_note = f"A foto principal de {survivor.name} continua a principal."
            elif absorbed.photos.filter(is_primary=True).exists():
                plan.photo_note = f"A foto principal de {absorbed.name} passa a ser a principal."
    return plan


def _check(kind: Kind, preview) -> None:
    """Combinations of the two records that no form would accept."""
    if kind is ANIMAL:
        if preview.deceased and preview.deceased_on and preview.birth_date and preview.deceased_on < preview.birth_date:
            raise Invalid("A data do óbito escolhida é anterior à data de nascimento escolhida. "
                          "Escolha as duas do mesmo cadastro ou corrija depois da mesclagem.")
    if kind is TUTOR and not preview.phone:
        raise Invalid("O tutor precisa de um telefone: escolha o cadastro que tem telefone.")


# --- doing it ------------------------------------------------------------------------------

def _snapshot(kind: Kind, obj) -> dict:
    data = {"id": obj.pk, "version": obj.version}
    for f in kind.model._meta.concrete_fields:
        if f.name in ("id", "version", "search_name", "search_phones"):
            continue
        value = getattr(obj, f.attname)
        data[f.attname] = value if value is None or isinstance(value, (bool, int, str)) else str(value)
    data["display"] = {label(kind, n): display(kind, obj, n) for n in kind.fields}
    return data


def _move_references(kind: Kind, survivor, absorbed) -> dict[str, list]:
    """Everything that points at the absorbed record points at the survivor
    (one UPDATE per relation; a TimeStamped row gets a new version)."""
    moved = {}
    for rel in kind.model._meta.related_objects:
        if not rel.one_to_many:
            continue
        model, fk = rel.related_model, rel.field
        qs = model._base_manager.filter(**{fk.attname: absorbed.pk})
        ids = list(qs.values_list("pk", flat=True))
        if not ids:
            continue
        changes = {fk.attname: survivor.pk}
        if issubclass(model, TimeStamped):
            changes["version"] = F("version") + 1
        if model is Photo and Photo.objects.filter(animal_id=survivor.pk, is_primary=True).exists():
            qs.filter(is_primary=True).update(is_primary=False)  # one principal photo per animal
        model._base_manager.filter(pk__in=ids).update(**changes)
        moved[model._meta.model_name] = ids
    return moved


def perform(plan: Plan, seen: dict, user, request=None) -> MergeRecord:
    """Do the merge planned on records at the versions in ``seen`` (the token);
    raises Stale when either changed or is gone."""
    kind = plan.kind
    s_pk, x_pk = plan.survivor.pk, plan.absorbed.pk
    with transaction.atomic():
        locked = {o.pk: o for o in kind.model.objects.select_for_update().filter(pk__in=[s_pk, x_pk]).order_by("pk")}
        if len(locked) != 2:
            raise Stale()
        versions = {seen["a"]: seen["va"], seen["b"]: seen["vb"]}
        if any(locked[pk].version != v for pk, v in versions.items()):
            raise Stale()
        survivor, absorbed = locked[s_pk], locked[x_pk]
        snapshot = _snapshot(kind, absorbed)
        absorbed_name = str(absorbed)
        fields = [f for f in kind.fields] + list(kind.followers)
        before = audit.snapshot(survivor, fields)

        moved = _move_references(kind, survivor, absorbed)
        if kind is TUTOR and moved.get("animal"):
            who = audit._user_fields(user)
            AuditEntry.objects.bulk_create([AuditEntry(
                object_type="animal", object_id=animal_id, action=AuditEntry.Action.MERGE, field="tutor",
                old_value=absorbed_name, new_value=str(plan.values.get("name") or survivor.name),
                ip_address=audit.address_of(request), **who) for animal_id in moved["animal"]])
        summary = _summary(kind, moved)
        # the values let go stay readable in the history (the survivor's lists the absorbed one's entries)
        who = audit._user_fields(user)
        AuditEntry.objects.bulk_create([AuditEntry(
            object_type=kind.code, object_id=x_pk, action=AuditEntry.Action.MERGE, field=d["label"],
            old_value=d["value"], new_value=f"não mantido (mesclado no cadastro nº {s_pk})",
            ip_address=audit.address_of(request), **who) for d in plan.discarded])
        audit.record(absorbed, AuditEntry.Action.MERGE, user, field="mesclagem",
                     old=f"{kind.noun} nº {x_pk}: {absorbed_name}",
                     new=f"mesclado no cadastro nº {s_pk}" + (f"; {summary}" if summary else ""), request=request)
        try:
            absorbed.delete()  # first: its CPF / microchip become free for the survivor
        except (models.ProtectedError, models.RestrictedError) as exc:  # a one-to-one record that cannot move
            kinds = sorted({o._meta.verbose_name_plural for o in exc.protected_objects} if hasattr(
                exc, "protected_objects") else set())
            raise Invalid(f"O cadastro nº {x_pk} tem registros que não podem ser transferidos"
                          + (f" ({', '.join(map(str, kinds))})" if kinds else "")
                          + ". Nada foi mesclado.") from exc

        for att, value in plan.values.items():
            setattr(survivor, att, value)
        survivor.updated_by = user
        survivor.save()
        audit.record_changes(survivor, before, user, action=AuditEntry.Action.MERGE)
        audit.record(survivor, AuditEntry.Action.MERGE, user, field="mesclagem",
                     old=f"{kind.noun} nº {x_pk}: {absorbed_name}",
                     new="incorporado a este cadastro" + (f"; {summary}" if summary else ""), request=request)
        return MergeRecord.objects.create(kind=kind.code, survivor_id=s_pk, absorbed_id=x_pk,
                                          absorbed_snapshot=snapshot, moved=moved, by=who["user"],
                                          username=who["username"])


def _summary(kind: Kind, moved: dict) -> str:
    parts = []
    if moved.get("animal"):
        n = len(moved["animal"])
        parts.append(f"{n} anima{'l transferido' if n == 1 else 'is transferidos'}")
    if moved.get("photo"):
        n = len(moved["photo"])
        parts.append(f"{n} foto{' transferida' if n == 1 else 's transferidas'}")
    return ", ".join(parts)


# --- after the merge -------------------------------------------------------------------------

def merged_ids(kind_code: str, pk: int) -> list[int]:
    """``pk`` and every record merged into it, directly or through earlier merges."""
    ids, frontier = [pk], [pk]
    while frontier:
        found = list(MergeRecord.objects.filter(kind=kind_code, survivor_id__in=frontier)
                     .values_list("absorbed_id", flat=True))
        found = [i for i in found if i not in ids]
        ids.extend(found)
        frontier = found
    return ids


def survivor_of(kind_code: str, pk: int) -> int | None:
    """Where an absorbed record's data lives now (following later merges), or None."""
    seen = set()
    current = None
    while pk not in seen:
        seen.add(pk)
        record = MergeRecord.objects.filter(kind=kind_code, absorbed_id=pk).only("survivor_id").first()
        if record is None:
            return current
        current = pk = record.survivor_id
    return current
