"""Error pages in pt-BR with the app's layout, no-store everywhere, export filters, archive/reactivate."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db
LAYOUT = 'class="topbar"'


def assert_error_page(response, status, title):
    html = response.content.decode()
    assert response.status_code == status
    assert 'lang="pt-BR"' in html and LAYOUT in html and "app.css" in html
    assert f"<h1>{title}</h1>" in html
    assert "no-store" in response["Cache-Control"]


def test_404_in_portuguese_with_layout(reception_client):
    assert_error_page(reception_client.get("/nao-existe/"), 404, "Página não encontrada")
    assert_error_page(reception_client.get(reverse("animal_detail", args=[999999])), 404, "Página não encontrada")


def test_403_in_portuguese_with_layout(nobody_client, reception_client, make_animal):
    assert_error_page(nobody_client.get(reverse("animal_list")), 403, "Acesso negado")
    assert_error_page(reception_client.get(reverse("animal_export")), 403, "Acesso negado")


def test_400_in_portuguese_with_layout(reception_client):
    assert_error_page(reception_client.get(reverse("animal_list"), HTTP_HOST="evil.example"), 400, "Pedido inválido")


def test_500_in_portuguese_with_layout(reception_user, monkeypatch):
    from registry import search

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(search, "animal_queryset", broken)
    c = Client(raise_request_exception=False)
    c.force_login(reception_user)
    response = c.get(reverse("animal_list"))
    assert_error_page(response, 500, "Erro no sistema")
    assert "boom" not in response.content.decode()


def test_csrf_failure_in_portuguese_with_layout(reception_user, make_animal):
    animal = make_animal()
    c = Client(enforce_csrf_checks=True)
    c.force_login(reception_user)
    response = c.post(reverse("animal_edit", args=[animal.pk]), {"name": "x"})
    assert_error_page(response, 403, "Página expirada")
    api = c.post(reverse("photo_presign", args=[animal.pk]), {})
    assert api.status_code == 403 and "expirou" in api.json()["error"]


def test_every_page_is_no_store(reception_client, admin_client_, make_animal, client):
    animal = make_animal()
    urls = [reverse("animal_list"), reverse("animal_detail", args=[animal.pk]), reverse("animal_edit", args=[animal.pk]),
            reverse("animal_create") + f"?tutor={animal.tutor_id}", reverse("tutor_list"),
            reverse("tutor_detail", args=[animal.tutor_id]), reverse("tutor_edit", args=[animal.tutor_id]),
            reverse("tutor_create"), reverse("photo_status", args=["0" * 32])]
    for url in urls:
        response = reception_client.get(url)
        assert "no-store" in response["Cache-Control"], url
    for url in ("/admin/", "/admin/registry/tutor/", f"/admin/registry/tutor/{animal.tutor_id}/change/",
                reverse("animal_export")):
        assert "no-store" in admin_client_.get(url)["Cache-Control"], url
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]


@pytest.mark.parametrize("query", [{"active": "talvez"}, {"species": "unicornio"}, {"per_page": "9999"},
                                   {"q": "x" * 500}])
def test_invalid_export_filter_is_an_error_not_the_whole_register(admin_client_, make_animal, query):
    make_animal()
    response = admin_client_.get(reverse("animal_export"), query)
    assert response.status_code == 400
    assert "text/csv" not in response["Content-Type"]
    assert "Filtro inválido para a exportação: nada foi exportado." in response.content.decode()


def test_valid_export_filter_still_exports(admin_client_, make_animal):
    make_animal()
    response = admin_client_.get(reverse("animal_export"), {"active": "all", "species": "dog"})
    assert response.status_code == 200 and "text/csv" in response["Content-Type"]


def test_archive_and_reactivate_are_idempotent(admin_client_, make_animal):
    animal = make_animal()
    for _ in range(2):  # double submit
        assert admin_client_.post(reverse("animal_archive", args=[animal.pk])).status_code == 302
    animal.refresh_from_db()
    assert not animal.is_active
    for _ in range(3):
        admin_client_.post(reverse("animal_reactivate", args=[animal.pk]))
    animal.refresh_from_db()
    assert animal.is_active
    entries = AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, action="archive")
    assert [(e.old_value, e.new_value) for e in entries.order_by("id")] == [("Sim", "Não"), ("Não", "Sim")]


def test_archive_pages_say_what_each_action_does(admin_client_, make_animal):
    animal = make_animal()
    assert "Arquivar Thor?" in admin_client_.get(reverse("animal_archive", args=[animal.pk])).content.decode()
    html = admin_client_.get(reverse("animal_reactivate", args=[animal.pk])).content.decode()
    assert "Thor já está ativo." in html


def test_api_errors_are_json(reception_client, nobody_client, make_animal):
    response = reception_client.post(reverse("photo_presign", args=[999999]), {})
    assert response.status_code == 404 and response.json() == {"error": "Não encontrado.", "status": 404}
    animal = make_animal()
    response = nobody_client.post(reverse("photo_presign", args=[animal.pk]), {})
    assert response.status_code == 403 and response.json()["status"] == 403


def test_admin_refuses_a_stale_edit(admin_user, make_tutor):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", password="senha-de-teste-123")
    c = Client()
    c.force_login(root)
    tutor = make_tutor(name="Ana Souza")
    url = f"/admin/registry/tutor/{tutor.pk}/change/"
    form = c.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update({"name": "Ana S. Lima", "seen_version": tutor.version, "cpf": tutor.cpf or ""})
    tutor.notes = "mudado por outra pessoa"
    tutor.save()
    response = c.post(url, data)
    assert response.status_code == 200
    assert "Este cadastro foi alterado por outra pessoa enquanto você editava." in response.content.decode()
    tutor.refresh_from_db()
    assert tutor.name == "Ana Souza" and tutor.notes == "mudado por outra pessoa"
    data.update({"seen_version": tutor.version, "notes": tutor.notes})
    assert c.post(url, data).status_code == 302
    tutor.refresh_from_db()
    assert tutor.name == "Ana S. Lima" and tutor.notes == "mudado por outra pessoa"
