"""The signed upload ticket (registry.photos.UploadTicket) the presign step hands
the browser and the confirm step trusts: readable field names, and nothing but
an intact, current ticket of this animal and user is accepted."""

from __future__ import annotations

import pytest
from django.core import signing
from registry import photo_contract as contract
from registry.photos import UploadTicket

from .test_photos import confirm, presign

PID = "0123456789abcdef0123456789abcdef"


def ticket(**kw) -> UploadTicket:
    values = {"photo_id": PID, "key": contract.upload_key(PID, "a.jpg"), "animal_id": 7, "user_id": 3,
              "original_name": "a.jpg"}
    return UploadTicket(**{**values, **kw})


def test_presign_hands_out_a_ticket_with_readable_field_names(reception_client, reception_user, make_animal):
    animal = make_animal()
    data = presign(reception_client, animal).json()
    payload = signing.loads(data["token"], salt=UploadTicket.SALT)
    assert payload == {"photo_id": data["photo_id"], "key": data["key"], "animal_id": animal.pk,
                       "user_id": reception_user.pk, "original_name": "Foto do Thor (1).JPG"}
    assert UploadTicket.open(data["token"], max_age=60) == UploadTicket(**payload)


def test_round_trip():
    assert UploadTicket.open(ticket().sign(), max_age=60) == ticket()


@pytest.mark.parametrize("payload", [
    {"p": PID, "k": f"uploads/{PID}/a.jpg", "a": 7, "u": 3, "n": "a.jpg"},  # the old cryptic names
    {"photo_id": PID, "key": f"uploads/{PID}/a.jpg", "animal_id": 7, "user_id": 3},  # a field missing
    {"photo_id": PID, "key": f"uploads/{PID}/a.jpg", "animal_id": "7", "user_id": 3, "original_name": "a"},
    {"photo_id": "../x", "key": f"uploads/{PID}/a.jpg", "animal_id": 7, "user_id": 3, "original_name": "a"},
    ["not", "a", "dict"],
])
def test_a_signed_payload_that_is_not_a_ticket_is_refused(payload):
    assert UploadTicket.open(signing.dumps(payload, salt=UploadTicket.SALT), max_age=60) is None


def test_forged_expired_or_other_salt_is_refused():
    token = ticket().sign()
    assert UploadTicket.open(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), max_age=60) is None
    assert UploadTicket.open(token, max_age=-1) is None
    assert UploadTicket.open(signing.dumps(ticket().__dict__, salt="other"), max_age=60) is None
    assert UploadTicket.open("", max_age=60) is None and UploadTicket.open(None, max_age=60) is None


def test_confirm_refuses_a_ticket_of_another_animal_or_user(reception_client, reception_user, make_animal, s3_bucket):
    animal, other = make_animal(), make_animal(name="Outro")
    data = presign(reception_client, animal).json()
    good = UploadTicket.open(data["token"], max_age=60)
    for wrong in (ticket(photo_id=good.photo_id, key=good.key, animal_id=other.pk, user_id=reception_user.pk),
                  ticket(photo_id=good.photo_id, key=good.key, animal_id=animal.pk, user_id=reception_user.pk + 1)):
        response = confirm(reception_client, animal, wrong.sign())
        assert response.status_code == 403 and response.json()["error"] == "Envio inválido para este animal."
    response = confirm(reception_client, animal, "lixo")
    assert response.status_code == 400 and "Envio expirado ou inválido" in response.json()["error"]
