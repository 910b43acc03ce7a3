"""A complete trail: every action a person takes through the app (or the
admin) is recorded with who, when and from where (issue 16).

The walk signs in through the real form from a known address, does every
audited thing once, and checks its entry; then that no entry made by a request
lacks its address or its author."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from registry.models import Animal, AuditEntry, Photo, Tutor

from tests.app.conftest import BUCKET, token_for
from tests.app.test_photos import confirm, ok_manifest, presign, put_manifest, upload

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
PASSWORD = "senha-de-teste-123"
A = AuditEntry.Action


class Trail:
    def __init__(self):
        self.start = timezone.now()

    def one(self, action, object_type, object_id, username, **match) -> AuditEntry:
        qs = AuditEntry.objects.filter(action=action, object_type=object_type, object_id=object_id,
                                       username=username, timestamp__gte=self.start, **match)
        found = list(qs)
        assert found, f"no {action} entry for {object_type}#{object_id} by {username} ({match})"
        for e in found:
            assert e.ip_address == IP, (action, e.ip_address)
            assert self.start <= e.timestamp <= timezone.now()
        return found[-1]


def sign_in(username, password=PASSWORD) -> Client:
    c = Client(REMOTE_ADDR=IP)
    response = c.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == (302 if password == PASSWORD else 200)
    return c


def test_every_action_is_in_the_trail_with_who_when_and_where(admin_user, s3_bucket):
    trail = Trail()
    gestor = "gestor"

    # sign-in: refused, then accepted
    sign_in(gestor, "senha-errada")
    trail.one(A.SIGN_IN_FAILED, "user", 0, gestor)
    c = sign_in(gestor)
    trail.one(A.SIGN_IN, "user", admin_user.pk, gestor, user=admin_user)

    # a tutor: create, view, open the edit page, edit
    c.post(reverse("tutor_create"), {"name": "Joana Prado", "phone": "(11) 97777-1234", "consent_photos": "on"})
    tutor = Tutor.objects.get(name="Joana Prado")
    trail.one(A.CREATE, "tutor", tutor.pk, gestor, user=admin_user)
    assert c.get(reverse("tutor_detail", args=[tutor.pk])).status_code == 200
    trail.one(A.VIEW, "tutor", tutor.pk, gestor, field="ficha")
    assert c.get(reverse("tutor_edit", args=[tutor.pk])).status_code == 200
    trail.one(A.VIEW, "tutor", tutor.pk, gestor, field="edição")
    c.post(reverse("tutor_edit", args=[tutor.pk]), {"name": "Joana Prado", "phone": "(11) 97777-9999",
                                                   "edit_token": token_for(tutor)})
    trail.one(A.UPDATE, "tutor", tutor.pk, gestor, field="telefone", new_value="(11) 97777-9999")

    # an animal: create, view (its page shows the tutor's contacts), card, edit, archive, reactivate
    c.post(reverse("animal_create") + f"?tutor={tutor.pk}",
           {"name": "Paçoca", "species": "dog", "sex": "female", "tutor": tutor.pk})
    animal = Animal.objects.get(name="Paçoca")
    trail.one(A.CREATE, "animal", animal.pk, gestor)
    assert c.get(reverse("animal_detail", args=[animal.pk])).status_code == 200
    trail.one(A.VIEW, "animal", animal.pk, gestor, field="ficha")
    assert c.get(reverse("animal_card", args=[animal.pk])).status_code == 200
    trail.one(A.VIEW, "animal", animal.pk, gestor, field="etiqueta")
    c.post(reverse("animal_edit", args=[animal.pk]), {"name": "Paçoca", "species": "cat", "sex": "female",
                                                     "tutor": tutor.pk, "edit_token": token_for(animal)})
    trail.one(A.UPDATE, "animal", animal.pk, gestor, new_value="Gato")
    c.post(reverse("animal_archive", args=[animal.pk]))
    trail.one(A.ARCHIVE, "animal", animal.pk, gestor, new_value="Não")
    c.post(reverse("animal_reactivate", args=[animal.pk]))
    trail.one(A.ARCHIVE, "animal", animal.pk, gestor, new_value="Sim")

    # photos: upload, principal, delete (the deletion is recorded by a signal)
    def add_photo():
        data = presign(c, animal).json()
        upload(s3_bucket, data)
        assert confirm(c, animal, data["token"]).status_code == 201
        photo = Photo.objects.get(photo_id=data["photo_id"])
        for name in ("large", "medium", "thumb"):
            s3_bucket.put_object(Bucket=BUCKET, Key=f"processed/{photo.photo_id}/{name}-v2.jpg", Body=b"x")
        put_manifest(s3_bucket, photo.photo_id, ok_manifest(photo.photo_id))
        c.get(reverse("photo_status", args=[photo.photo_id]))  # processed; the first becomes principal
        return photo

    add_photo()
    trail.one(A.PHOTO, "animal", animal.pk, gestor, field="foto", new_value__startswith="Enviada")
    photo = add_photo()
    c.post(reverse("photo_set_primary", args=[photo.photo_id]))
    trail.one(A.PHOTO, "animal", animal.pk, gestor, field="foto principal")
    c.post(reverse("photo_delete", args=[photo.photo_id]))
    trail.one(A.PHOTO, "animal", animal.pk, gestor, field="foto", new_value="Excluída")

    # the CSV export, with the filter used
    response = c.get(reverse("animal_export"), {"q": "paçoca", "species": "cat", "active": "all"})
    b"".join(response.streaming_content)
    export = trail.one(A.EXPORT, "export", 0, gestor)
    assert export.new_value == "busca “paçoca” · espécie: Gato · situação: Todos"

    # the admin (a superuser): an edit and a deletion are recorded too, with the address
    User.objects.create_superuser("raiz", password=PASSWORD)
    root = Client(REMOTE_ADDR=IP)
    assert root.post("/admin/login/?next=/admin/", {"username": "raiz", "password": PASSWORD}).status_code == 302
    other = Tutor.objects.create(name="Apagar Depois", phone="11955554444")
    root.post(f"/admin/registry/tutor/{other.pk}/delete/", {"post": "yes"})
    assert not Tutor.objects.filter(pk=other.pk).exists()
    trail.one(A.DELETE, "tutor", other.pk, "raiz", old_value="Apagar Depois")

    # staff accounts (Administração's pages): create, change the role, deactivate
    c.post(reverse("staff_create"), {"username": "novo.vet", "first_name": "Nil", "last_name": "", "email": "",
                                     "role": "Recepção", "password_mode": "gerar"})
    person = User.objects.get(username="novo.vet")
    trail.one(A.STAFF, "user", person.pk, gestor, field="conta")
    c.post(reverse("staff_edit", args=[person.pk]), {"first_name": "Nil", "last_name": "", "email": "",
                                                      "role": "Veterinário"})
    trail.one(A.STAFF, "user", person.pk, gestor, field="papel", new_value="Veterinário")
    c.post(reverse("staff_deactivate", args=[person.pk]))
    trail.one(A.STAFF, "user", person.pk, gestor, field="situação", new_value="Desativada")

    # consent (issue 16): withdrawn and granted again at the desk, one click each
    c.post(reverse("tutor_consent", args=[tutor.pk]), {"action": "grant:whatsapp", "method": "whatsapp"})
    trail.one(A.CONSENT, "tutor", tutor.pk, gestor, new_value__icontains="WhatsApp")
    c.post(reverse("tutor_consent", args=[tutor.pk]), {"action": "withdraw:whatsapp", "method": "in_person"})
    assert AuditEntry.objects.filter(action=A.CONSENT, object_id=tutor.pk, ip_address=IP,
                                     field__icontains="WhatsApp").count() == 2

    # the data subject's report (page and JSON)
    assert c.get(reverse("tutor_data_report", args=[tutor.pk])).status_code == 200
    assert c.get(reverse("tutor_data_report_json", args=[tutor.pk])).status_code == 200
    assert AuditEntry.objects.filter(action=A.DATA_REQUEST, object_type="tutor", object_id=tutor.pk,
                                     username=gestor, ip_address=IP).count() == 2

    # a duplicate registration of her, merged into her record (issue 15)
    from tests.app.test_merge import compare_page, picks_from, post_merge

    dup = Tutor.objects.create(name="Joana P. Prado", phone="11977770000")
    page = compare_page(c, "tutor", tutor, dup)
    done = post_merge(c, "tutor", tutor, dup, page.context["token"], "confirm", survivor="a", **picks_from(page))
    assert done.status_code == 302
    trail.one(A.MERGE, "tutor", tutor.pk, gestor)
    trail.one(A.MERGE, "tutor", dup.pk, gestor)

    # an erasure (another tutor, so the entries above stay readable)
    c.post(reverse("tutor_create"), {"name": "Apagar Dados", "phone": "(11) 96666-0000"})
    gone = Tutor.objects.get(name="Apagar Dados")
    c.post(reverse("tutor_erase", args=[gone.pk]), {"confirm": "on"})
    trail.one(A.ERASURE, "tutor", gone.pk, gestor)

    # sign-out
    c.post(reverse("logout"))
    trail.one(A.SIGN_OUT, "user", admin_user.pk, gestor, user=admin_user)

    # and not one entry made by these requests lacks its address or its author
    made = AuditEntry.objects.filter(timestamp__gte=trail.start)
    assert made.count() >= 20
    assert not made.exclude(ip_address=IP).exists()
    assert not made.filter(username="").exists()


def test_the_admin_records_its_edits(make_tutor):
    User.objects.create_superuser("raiz", password=PASSWORD)
    root = Client(REMOTE_ADDR=IP)
    root.post("/admin/login/?next=/admin/", {"username": "raiz", "password": PASSWORD})
    tutor = make_tutor(name="Ana Souza")
    url = f"/admin/registry/tutor/{tutor.pk}/change/"
    form = root.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update({"name": "Ana S. Lima", "seen_version": tutor.version, "cpf": tutor.cpf or ""})
    assert root.post(url, data).status_code == 302
    entry = AuditEntry.objects.get(object_type="tutor", object_id=tutor.pk, action=A.UPDATE)
    assert (entry.field, entry.old_value, entry.new_value) == ("nome", "Ana Souza", "Ana S. Lima")
    assert entry.username == "raiz" and entry.ip_address == IP


def test_the_short_history_on_a_page_leaves_the_views_out(reception_client, make_tutor):
    tutor = make_tutor()
    for _ in range(3):
        reception_client.get(reverse("tutor_detail", args=[tutor.pk]))
    page = reception_client.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert AuditEntry.objects.filter(object_type="tutor", object_id=tutor.pk, action=A.VIEW).count() == 4
    assert 'data-audit-action="view"' not in page


def test_every_action_code_has_a_writer_and_is_walked():
    source = "\n".join(p.read_text() for p in
                       (Path(__file__).resolve().parents[2] / "clinic_app" / "registry").rglob("*.py")
                       if "migrations" not in p.parts)
    written = {a for a in A if re.search(rf"Action\.{a.name}\b", source)}
    # every code has a writer, and the walk above visits each (keep them in step)
    assert written == set(A), f"no writer for {sorted(set(A) - written)}"
    walk = Path(__file__).read_text()
    assert not [a.name for a in A if f"A.{a.name}," not in walk], "walk every action in the trail test"
