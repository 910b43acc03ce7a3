"""A tutor's rights under the LGPD (art. 18): everything the clinic holds about
them (access, portability) and the anonymisation of their personal data
(erasure). The retention rules and their legal basis: docs/lgpd.md.

Nothing here logs personal data: log lines carry record ids and counts only.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import audit, consent, merge, outbox, photos
from .models import Animal, AuditEntry, ConsentRecord, MergeRecord, Photo, PhotoDeletion, Tutor
from .validators import format_cep, format_cpf, format_phone

log = logging.getLogger(__name__)

REDACTED_MARK = "[anonimizado]"
# The operator AWS acts as for the clinic (LGPD art. 5 VII, art. 18 VII): what
# the report tells the data subject about sharing.
SHARING_TEXT = (
    "Os dados são tratados pela clínica (controladora). A Amazon Web Services (AWS) hospeda o "
    "sistema como operadora: banco de dados em disco criptografado, fotos em armazenamento "
    "criptografado (Amazon S3) e cópias de segurança (AWS Backup e snapshots). Os dados não são "
    "compartilhados com outros terceiros."
)
PHOTO_LINK_NOTE = "Os links das fotos expiram em poucos minutos; gere o relatório de novo para obter links novos."


def anonymised_name(tutor_id: int) -> str:
    return f"Tutor anonimizado nº {tutor_id}"


def is_erased(tutor: Tutor) -> bool:
    return AuditEntry.objects.filter(object_type="tutor", object_id=tutor.pk,
                                     action=AuditEntry.Action.ERASURE).exists()


def tutor_page_context(tutor: Tutor) -> dict:
    """What the tutor page needs for its consent card and LGPD actions."""
    return {
        "consent_rows": [{"purpose": purpose, "label": consent.Purpose(purpose).label, "record": rec,
                          "granted": bool(rec and rec.granted)} for purpose, rec in consent.current(tutor).items()],
        "consent_history": list(consent.history(tutor)),
        "consent_methods": consent.Method.choices,
        "tutor_erased": is_erased(tutor),
    }


# --- the report (access, portability) ------------------------------------------

def _dt(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _d(value) -> str | None:
    return value.isoformat() if value else None


def _links(p: Photo) -> dict[str, str]:
    """Short-lived presigned GETs for the photo's renditions (registry.photos)."""
    if p.status != Photo.Status.OK:
        return {}
    links = {}
    for name in photos.RENDITIONS:
        url = photos.rendition_url(p, name)
        if url:
            links[name] = url
    return links


def _audit_row(e: AuditEntry) -> dict:
    return {"quando": _dt(e.timestamp), "usuario": e.username, "acao": e.get_action_display(),
            "registro": f"{e.object_type} {e.object_id}", "campo": e.field,
            "antes": REDACTED_MARK if e.redacted else e.old_value,
            "depois": REDACTED_MARK if e.redacted else e.new_value,
            "endereco": e.ip_address or ""}


@dataclass
class Holdings:
    """What the clinic holds about one tutor, as model objects (the HTML page)."""

    tutor: Tutor
    animals: list
    consent_history: list
    trail: list
    erased: bool


def collect(tutor: Tutor) -> Holdings:
    animals = list(tutor.animals.order_by("search_name", "id").select_related("species").prefetch_related("photos"))
    for a in animals:
        a.report_photos = [{"photo": p, "links": _links(p)} for p in a.photos.all()]
    tutor_ids, animal_ids = _record_ids(tutor, [a.pk for a in animals])
    trail = list(AuditEntry.objects.filter(Q(object_type="tutor", object_id__in=tutor_ids)
                                           | Q(object_type="animal", object_id__in=animal_ids))
                 .order_by("timestamp", "id"))
    return Holdings(tutor=tutor, animals=animals, consent_history=list(consent.history(tutor)), trail=trail,
                    erased=is_erased(tutor))


def report(tutor: Tutor, held: Holdings | None = None) -> dict:
    """Everything the clinic holds about a tutor, as plain data (the JSON
    download, for portability; the HTML page shows the same). Dates ISO 8601."""
    held = held or collect(tutor)
    return {
        "relatorio": "Dados pessoais do titular (LGPD, art. 18)",
        "gerado_em": _dt(timezone.now()),
        "titular": {
            "id": tutor.pk, "nome": tutor.name, "cpf": format_cpf(tutor.cpf) if tutor.cpf else "",
            "telefone": format_phone(tutor.phone), "outro_telefone": format_phone(tutor.phone_secondary),
            "email": tutor.email,
            "endereco": {"cep": format_cep(tutor.cep) if tutor.cep else "", "logradouro": tutor.street,
                         "numero": tutor.number, "complemento": tutor.complement, "bairro": tutor.neighbourhood,
                         "cidade": tutor.city, "uf": tutor.uf},
            "observacoes": tutor.notes, "cadastrado_em": _dt(tutor.created_at),
            "atualizado_em": _dt(tutor.updated_at), "anonimizado": held.erased,
        },
        "animais": [{
            "id": a.pk, "nome": a.name, "especie": a.species_label, "raca": a.breed, "sexo": a.get_sex_display(),
            "castrado": a.neutered, "nascimento": _d(a.birth_date), "nascimento_aproximado": a.birth_date_estimated,
            "pelagem": a.coat, "microchip": a.microchip or "",
            "peso_kg": str(a.weight_kg) if a.weight_kg is not None else "",
            "ativo": a.is_active, "obito": a.deceased, "data_obito": _d(a.deceased_on), "observacoes": a.notes,
            "cadastrado_em": _dt(a.created_at),
            "fotos": [{"id": p["photo"].photo_id, "arquivo": p["photo"].original_name,
                       "tipo": p["photo"].content_type, "bytes": p["photo"].size,
                       "enviada_em": _dt(p["photo"].uploaded_at), "situacao": p["photo"].get_status_display(),
                       "principal": p["photo"].is_primary, "links": p["links"]} for p in a.report_photos],
        } for a in held.animals],
        "consentimentos": {
            "situacao_atual": {
                consent.Purpose(purpose).label: consent.state_text(rec)
                for purpose, rec in consent.current(tutor).items()
            },
            "historico": [{
                "finalidade": r.get_purpose_display(), "consentiu": r.granted, "forma": r.get_method_display(),
                "observacao": r.note, "registrado_por": r.recorded_by_name, "registrado_em": _dt(r.recorded_at),
            } for r in held.consent_history],
        },
        "trilha_de_auditoria": [_audit_row(e) for e in held.trail],
        "compartilhamento": SHARING_TEXT,
        "observacao_fotos": PHOTO_LINK_NOTE,
    }


def record_data_request(tutor: Tutor, user, request, delivered_as: str) -> None:
    audit.record(tutor, AuditEntry.Action.DATA_REQUEST, user, field="relatório do titular",
                 new=f"Entregue: {delivered_as}", request=request)


# --- erasure (anonymisation) -----------------------------------------------------

@dataclass
class Erasure:
    tutor_id: int
    done: bool = False  # False: the tutor had been anonymised already
    photos_deleted: int = 0
    audit_redacted: int = 0
    notes_scrubbed: int = 0
    photo_ids: list[str] = field(default_factory=list)


def personal_values(tutor: Tutor) -> list[str]:
    """The strings that identify the tutor, as stored and as displayed."""
    values = [tutor.email, tutor.street, tutor.notes]
    if tutor.cpf:
        values += [tutor.cpf, format_cpf(tutor.cpf)]
    for phone in (tutor.phone, tutor.phone_secondary):
        if phone:
            values += [phone, format_phone(phone)]
    values.append(tutor.name)
    return [v.strip() for v in values if v and len(v.strip()) >= 4]


def _identifiers(tutor: Tutor) -> list[str]:
    """What is unique enough to find anywhere in the trail: CPF, phones, e-mail."""
    values = [tutor.email]
    if tutor.cpf:
        values += [tutor.cpf, format_cpf(tutor.cpf)]
    for phone in (tutor.phone, tutor.phone_secondary):
        if phone:
            values += [phone, format_phone(phone)]
    return [v for v in values if v]


def _record_ids(tutor: Tutor, animal_ids: list[int]) -> tuple[list[int], list[int]]:
    """The tutor's and the animals' ids with every record merged into them
    (registry.merge): the same person's and the same animals' past records."""
    tutor_ids = merge.merged_ids("tutor", tutor.pk)
    all_animals = []
    for pk in animal_ids:
        all_animals += merge.merged_ids("animal", pk)
    return tutor_ids, all_animals


def _absorbed_tutors(tutor_ids: list[int]) -> list[Tutor]:
    """The records merged into this tutor, rebuilt (unsaved) from their merge snapshots."""
    fields = {f.attname for f in Tutor._meta.concrete_fields}
    return [Tutor(**{k: v for k, v in (rec.absorbed_snapshot or {}).items() if k in fields and k != "id"})
            for rec in MergeRecord.objects.filter(kind=MergeRecord.Kind.TUTOR, absorbed_id__in=tutor_ids)]


def _scrub_json(data, values):
    return json.loads(_scrub(json.dumps(data, ensure_ascii=False), values))


def _contains_any(values) -> Q:
    q = Q(pk__in=[])
    for v in values:
        q |= Q(old_value__icontains=v) | Q(new_value__icontains=v)
    return q


def _scrub(text: str, values) -> str:
    for v in sorted(values, key=len, reverse=True):
        if v and v.lower() in text.lower():
            start = 0
            low = text.lower()
            out = []
            while (i := low.find(v.lower(), start)) >= 0:
                out.append(text[start:i] + REDACTED_MARK)
                start = i + len(v)
            text = "".join(out) + text[start:]
    return text


@dataclass
class _Subject:
    """The person being erased: their records (with those merged into them) and what identifies them."""

    tutor: Tutor
    tutor_ids: list[int]
    animal_ids: list[int]
    values: list[str]       # every personal string, as stored and as displayed
    identifiers: list[str]  # what is unique enough to look for anywhere: CPF, phones, e-mail
    names: set[str]


def _subject(t: Tutor) -> _Subject:
    tutor_ids, animal_ids = _record_ids(t, list(Animal.objects.filter(tutor=t).values_list("pk", flat=True)))
    people = [t, *_absorbed_tutors(tutor_ids)]  # a merge joined records of the same person
    return _Subject(t, tutor_ids, animal_ids, values=[v for p in people for v in personal_values(p)],
                    identifiers=[v for p in people for v in _identifiers(p)],
                    names={p.name.strip() for p in people if p.name.strip()})


def _delete_photos(who: _Subject, result: Erasure) -> None:
    """Through the photo deletion outbox (its row and audit entry come from the pre_delete signal)."""
    doomed = list(Photo.objects.filter(animal_id__in=who.animal_ids))
    result.photo_ids = [p.photo_id for p in doomed]
    for p in doomed:
        p.delete()
    result.photos_deleted = len(doomed)
    # a file name the staff chose may carry the tutor's name
    PhotoDeletion.objects.filter(photo_id__in=result.photo_ids).update(original_name="")


def _scrub_animal_notes(who: _Subject, result: Erasure) -> None:
    """The animals' notes keep their clinical text, without the tutor's identifiers."""
    for a in Animal.objects.filter(pk__in=who.animal_ids).exclude(notes=""):
        scrubbed = _scrub(a.notes, who.values)
        if scrubbed != a.notes:
            Animal.objects.filter(pk=a.pk).update(notes=scrubbed, version=F("version") + 1,
                                                  updated_at=timezone.now())
            result.notes_scrubbed += 1


def _blank_tutor(t: Tutor, user) -> None:
    t.name = anonymised_name(t.pk)
    t.cpf = None
    for attr in ("phone", "phone_secondary", "email", "cep", "street", "number", "complement",
                 "neighbourhood", "city", "uf", "notes"):
        setattr(t, attr, "")
    t.updated_by = user if getattr(user, "is_authenticated", False) else None
    t.save()


def _redact_trail(who: _Subject) -> int:
    """Everything about the tutor and the photo entries of their animals (file
    names); anywhere else, entries holding the tutor's identifiers, and their
    full name unless the entry is another tutor's own record (a namesake's
    history stays intact). One UPDATE: the only change the trail accepts."""
    about = (Q(object_type="tutor", object_id__in=who.tutor_ids)
             | Q(object_type="animal", object_id__in=who.animal_ids, action=AuditEntry.Action.PHOTO)
             | _contains_any(who.identifiers))
    for name in who.names:
        if len(name.split()) >= 2 and len(name) >= 6:
            about |= _contains_any([name]) & ~(Q(object_type="tutor") & ~Q(object_id__in=who.tutor_ids))
        else:  # a one-word or very short name: only where it is surely this tutor's
            about |= _contains_any([name]) & Q(object_type="animal", object_id__in=who.animal_ids)
    return (AuditEntry.objects.filter(about, redacted=False).exclude(old_value="", new_value="")
            .update(redacted=True, old_value="", new_value=""))


def _withdraw_consents(t: Tutor, user, request) -> None:
    """Nobody is left to photograph for or to contact (recorded after the
    redaction, so these entries stay readable)."""
    for purpose, rec in consent.current(t).items():
        if rec is not None and rec.granted:
            consent.record(t, purpose, False, consent.Method.IN_PERSON, user,
                           note="Retirado na anonimização a pedido do titular", request=request)


def _forget_elsewhere(who: _Subject) -> None:
    """Merges keep a snapshot of the absorbed record (the person's goes, an
    animal's is scrubbed); the Django admin's log keeps the record's name."""
    MergeRecord.objects.filter(kind=MergeRecord.Kind.TUTOR, absorbed_id__in=who.tutor_ids).update(
        absorbed_snapshot={"anonimizado": True})
    for rec in MergeRecord.objects.filter(kind=MergeRecord.Kind.ANIMAL, survivor_id__in=who.animal_ids):
        rec.absorbed_snapshot = _scrub_json(rec.absorbed_snapshot, who.values)
        rec.save(update_fields=["absorbed_snapshot"])
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Tutor),
                            object_id=str(who.tutor.pk)).update(object_repr=who.tutor.name)


@contextmanager
def _secure_delete():
    """On SQLite, freed space is zeroed rather than left in the file; the
    connection's own setting comes back afterwards (Debian builds it ON)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        before = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA secure_delete = {before}")


def erase(tutor: Tutor, user, request=None) -> Erasure:
    """Anonymise a tutor: their personal data goes, the animals and their
    registration history stay under "Tutor anonimizado nº <id>".

    In one transaction: the photos of the tutor's animals are deleted through
    the photo deletion outbox (their S3 objects follow, retried until S3
    confirms); the tutor's fields are blanked (the search index triggers forget
    them); consent notes are blanked; the tutor's name, CPF, phones and e-mail
    are cut out of the animals' notes; the audit entries holding personal data
    are redacted by a single UPDATE (the only change the trail accepts); the
    Django admin's log forgets the name. Then one ERASURE entry records it."""
    result = Erasure(tutor_id=tutor.pk)
    with _secure_delete(), transaction.atomic():
        t = Tutor.objects.select_for_update().get(pk=tutor.pk)
        if is_erased(t):
            return result
        who = _subject(t)
        _delete_photos(who, result)
        _scrub_animal_notes(who, result)
        ConsentRecord.objects.filter(tutor=t).exclude(note="").update(note="")
        _blank_tutor(t, user)
        result.audit_redacted = _redact_trail(who)
        _withdraw_consents(t, user, request)
        _forget_elsewhere(who)
        audit.record(t, AuditEntry.Action.ERASURE, user, field="dados pessoais",
                     new=(f"Anonimizado: {result.photos_deleted} foto(s) excluída(s), "
                          f"{result.audit_redacted} registro(s) da trilha anonimizado(s)"),
                     request=request)
        result.done = True
    log.info("tutor %s anonymised: %d photo(s) to delete, %d audit entr(ies) redacted",
             result.tutor_id, result.photos_deleted, result.audit_redacted)
    for photo_id in result.photo_ids:
        try:
            outbox.try_now(photo_id)
        except Exception:  # noqa: BLE001 - the outbox retries; the erasure is done
            log.warning("immediate S3 cleanup failed for photo %s; left to the outbox", photo_id)
    return result
