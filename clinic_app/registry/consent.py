"""A tutor's consent (LGPD art. 7 I, art. 8): photographs of the animals and
communications by WhatsApp, e-mail and SMS.

Every decision is a new ConsentRecord (append-only); the current state of a
purpose is its latest record. No record means the tutor never consented.
Each decision also goes to the audit trail (AuditEntry.Action.CONSENT) with the
address it came from; the free-text note never does (it may name people).
"""

from __future__ import annotations

from django import forms
from django.db import transaction

from . import audit
from .models import AuditEntry, ConsentRecord, Tutor

Purpose = ConsentRecord.Purpose
Method = ConsentRecord.Method

NO_PHOTO_CONSENT_TEXT = (
    "O tutor não autorizou fotografias dos seus animais. Registre o consentimento "
    "no cadastro do tutor antes de enviar fotos."
)

GRANTED_TEXT = "Consentiu"
WITHDRAWN_TEXT = "Não consente"
NEVER_TEXT = "Não registrado"


def current(tutor: Tutor | int) -> dict[str, ConsentRecord | None]:
    """The latest record per purpose (None: never recorded)."""
    tutor_id = tutor.pk if isinstance(tutor, Tutor) else tutor
    latest: dict[str, ConsentRecord | None] = dict.fromkeys(Purpose.values)
    for rec in ConsentRecord.objects.filter(tutor_id=tutor_id).order_by("-recorded_at", "-id"):
        if latest.get(rec.purpose) is None:
            latest[rec.purpose] = rec
    return latest


def granted(tutor: Tutor | int, purpose: str) -> bool:
    tutor_id = tutor.pk if isinstance(tutor, Tutor) else tutor
    rec = (ConsentRecord.objects.filter(tutor_id=tutor_id, purpose=purpose)
           .order_by("-recorded_at", "-id").values_list("granted", flat=True).first())
    return bool(rec)


def has_photo_consent(tutor: Tutor | int) -> bool:
    return granted(tutor, Purpose.PHOTOS)


def state_text(rec: ConsentRecord | None) -> str:
    if rec is None:
        return NEVER_TEXT
    return GRANTED_TEXT if rec.granted else WITHDRAWN_TEXT


def record(tutor: Tutor, purpose: str, is_granted: bool, method: str, user, *, note: str = "",
           request=None) -> ConsentRecord | None:
    """Store a decision; None when it would not change the current state (a
    double click or a stale page never writes a second, identical record)."""
    if purpose not in Purpose.values or method not in Method.values:
        raise ValueError("unknown consent purpose or method")
    with transaction.atomic():
        # one writer per tutor at a time (SQLite: the write lock; PostgreSQL: the row)
        list(Tutor.objects.select_for_update().filter(pk=tutor.pk).values_list("pk", flat=True))
        before = current(tutor)[purpose]
        if before is not None and before.granted == is_granted:
            return None
        who = user if user is not None and getattr(user, "is_authenticated", False) else None
        rec = ConsentRecord.objects.create(
            tutor=tutor, purpose=purpose, granted=is_granted, method=method, note=note[:300],
            recorded_by=who, recorded_by_name=who.get_username() if who else "",
        )
        audit.record(tutor, AuditEntry.Action.CONSENT, user, field=Purpose(purpose).label,
                     old=state_text(before),
                     new=f"{state_text(rec)} ({Method(method).label})", request=request)
    return rec


def history(tutor: Tutor):
    return ConsentRecord.objects.filter(tutor=tutor).select_related("recorded_by").order_by("-recorded_at", "-id")


# --- forms ---------------------------------------------------------------------

class MethodField(forms.ChoiceField):
    def __init__(self, **kw):
        super().__init__(choices=Method.choices, initial=Method.IN_PERSON, label="Como o tutor informou",
                         error_messages={"required": "Informe como o tutor manifestou a decisão.",
                                         "invalid_choice": "Escolha uma das formas da lista."}, **kw)


class NewTutorConsentForm(forms.Form):
    """The consent part of the new-tutor form: what the tutor agreed to at the desk."""

    consent_photos = forms.BooleanField(required=False, label="Autoriza fotografias dos animais")
    consent_whatsapp = forms.BooleanField(required=False, label="Aceita comunicações por WhatsApp")
    consent_email = forms.BooleanField(required=False, label="Aceita comunicações por e-mail")
    consent_sms = forms.BooleanField(required=False, label="Aceita comunicações por SMS")
    # what the desk does most; a post without it (an older client) means that
    consent_method = MethodField(required=False)

    FIELDS = {Purpose.PHOTOS: "consent_photos", Purpose.WHATSAPP: "consent_whatsapp",
              Purpose.EMAIL: "consent_email", Purpose.SMS: "consent_sms"}

    def purpose_fields(self):
        return [self[name] for name in self.FIELDS.values()]

    def save(self, tutor: Tutor, user, request=None) -> int:
        n = 0
        method = self.cleaned_data.get("consent_method") or Method.IN_PERSON
        for purpose, name in self.FIELDS.items():
            if self.cleaned_data.get(name):
                n += record(tutor, purpose, True, method, user,
                            note="No cadastro do tutor", request=request) is not None
        return n


class ConsentChangeForm(forms.Form):
    """The tutor page's consent card: one button per purpose grants or withdraws."""

    action = forms.CharField()
    method = MethodField()
    note = forms.CharField(required=False, max_length=300, label="Observação (opcional)",
                           error_messages={"max_length": "A observação deve ter no máximo 300 caracteres."})

    def clean_action(self):
        verb, _, purpose = (self.cleaned_data.get("action") or "").partition(":")
        if verb not in ("grant", "withdraw") or purpose not in Purpose.values:
            raise forms.ValidationError("Ação de consentimento inválida.")
        return verb == "grant", purpose
