"""A tutor's data on request (LGPD art. 18, issue 16): one action on the tutor
page gives Administração everything the clinic holds about the tutor, as a
printable page and as JSON; each delivery is audited."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from registry import consent
from registry.models import AuditEntry

from tests.app.conftest import token_for

from .test_photos import add_photo

pytestmark = pytest.mark.django_db
ADDR = {"REMOTE_ADDR": "198.51.100.23"}


@pytest.fixture
def held(admin_client_, reception_client, make_tutor, make_animal, s3_bucket):
    """A tutor with two animals, a processed photo, consent history and trail."""
    tutor = make_tutor(name="Glória Andrade Pires", cpf="52998224725", phone="21987650001",
                       email="gloria@exemplo.com.br", street="Rua Barão de Jaguaribe", city="Rio de Janeiro",
                       uf="RJ", notes="Prefere ser chamada de Glorinha")
    thor = make_animal(tutor=tutor, name="Thor", birth_date=date(2019, 3, 7), microchip="076000000000123")
    make_animal(tutor=tutor, name="Mel")
    photo = add_photo(reception_client, thor, s3_bucket, "ok")
    reception_client.post(reverse("tutor_edit", args=[tutor.pk]), {
        "name": tutor.name, "cpf": "529.982.247-25", "phone": "(21) 98765-0002", "email": tutor.email,
        "street": tutor.street, "city": tutor.city, "uf": "RJ", "notes": tutor.notes,
        "edit_token": token_for(tutor)})
    consent.record(tutor, "email", True, "email", None, note="por e-mail em resposta")
    tutor.refresh_from_db()
    return tutor, thor, photo


def test_the_tutor_page_offers_the_report_to_administracao_only(admin_client_, reception_client, held):
    tutor, _, _ = held
    url = reverse("tutor_data_report", args=[tutor.pk])
    assert f'href="{url}"' in admin_client_.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert f'href="{url}"' not in reception_client.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert reception_client.get(url).status_code == 403
    assert reception_client.get(reverse("tutor_data_report_json", args=[tutor.pk])).status_code == 403


def test_the_report_page_holds_everything_in_ptbr(admin_client_, held):
    tutor, thor, photo = held
    response = admin_client_.get(reverse("tutor_data_report", args=[tutor.pk]), **ADDR)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    for text in ("Glória Andrade Pires", "529.982.247-25", "(21) 98765-0002", "gloria@exemplo.com.br",
                 "Rua Barão de Jaguaribe", "Prefere ser chamada de Glorinha", "Thor", "Mel", "076000000000123",
                 "07/03/2019",  # dd/mm/aaaa
                 photo.original_name, "Comunicações por e-mail", "por e-mail em resposta", "Termo assinado",
                 "(21) 98765-0001",  # the old phone, in the trail
                 "Amazon Web Services", "lgpd-report.css"):
        assert text in page, text
    # links to the renditions: short-lived presigned GETs of this photo's own keys
    assert page.count('class="report-photo-link"') == 3  # large, medium, thumb
    assert f"/processed/{photo.photo_id}/" in page and "X-Amz-Expires=" in page
    entry = AuditEntry.objects.get(object_type="tutor", object_id=tutor.pk, action=AuditEntry.Action.DATA_REQUEST)
    assert entry.new_value == "Entregue: página para leitura/impressão" and entry.ip_address == "198.51.100.23"
    assert entry.username == "gestor"


def test_the_json_download_is_complete_and_audited(admin_client_, held):
    tutor, thor, photo = held
    response = admin_client_.get(reverse("tutor_data_report_json", args=[tutor.pk]), **ADDR)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="dados-titular-{tutor.pk}-')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    t = data["titular"]
    assert (t["nome"], t["cpf"], t["telefone"], t["email"]) == (
        "Glória Andrade Pires", "529.982.247-25", "(21) 98765-0002", "gloria@exemplo.com.br")
    assert t["endereco"]["logradouro"] == "Rua Barão de Jaguaribe" and t["anonimizado"] is False
    animals = {a["nome"]: a for a in data["animais"]}
    assert set(animals) == {"Thor", "Mel"}
    assert animals["Thor"]["nascimento"] == "2019-03-07" and animals["Thor"]["microchip"] == "076000000000123"
    (foto,) = animals["Thor"]["fotos"]
    assert foto["id"] == photo.photo_id and set(foto["links"]) >= {"large", "medium", "thumb"}
    parts = urlsplit(foto["links"]["large"])
    assert parts.path.endswith(photo.renditions["large"]["key"]) and "X-Amz-Signature=" in parts.query
    assert data["consentimentos"]["situacao_atual"] == {
        "Fotografias dos animais": "Consentiu", "Comunicações por WhatsApp": "Não registrado",
        "Comunicações por e-mail": "Consentiu", "Comunicações por SMS": "Não registrado"}
    assert [h["finalidade"] for h in data["consentimentos"]["historico"]] == [
        "Comunicações por e-mail", "Fotografias dos animais"]
    trail = data["trilha_de_auditoria"]
    assert any(e["campo"] == "telefone" and e["antes"] == "(21) 98765-0001" for e in trail)
    assert any(e["registro"] == f"animal {thor.pk}" and e["acao"] == "Foto" for e in trail)
    assert "Amazon Web Services" in data["compartilhamento"]
    entry = AuditEntry.objects.get(object_type="tutor", object_id=tutor.pk, action=AuditEntry.Action.DATA_REQUEST)
    assert entry.new_value == "Entregue: arquivo JSON" and entry.ip_address == "198.51.100.23"
    # the earlier delivery is in the next report's trail
    again = json.loads(admin_client_.get(reverse("tutor_data_report_json", args=[tutor.pk])).content)
    assert any(e["acao"] == "Pedido do titular" for e in again["trilha_de_auditoria"])


def test_nothing_personal_is_logged_by_a_data_request(admin_client_, held, caplog):
    tutor, _, _ = held
    caplog.set_level("DEBUG")
    admin_client_.get(reverse("tutor_data_report", args=[tutor.pk]))
    admin_client_.get(reverse("tutor_data_report_json", args=[tutor.pk]))
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Glória", "52998224725", "529.982.247-25", "98765-0002", "21987650002", "gloria@"):
        assert secret not in text
