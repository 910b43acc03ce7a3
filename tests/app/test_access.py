"""Sign-in required everywhere (but sign-in and /healthz), roles enforced on the server, CSRF."""

import pytest
from django.test import Client
from django.urls import reverse
from registry.models import Animal

from .factories import token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def animal(make_animal):
    return make_animal()


def page_urls(animal):
    pk, tpk = animal.pk, animal.tutor_id
    return [
        ("get", reverse("home")), ("get", reverse("animal_list")), ("get", reverse("animal_export")),
        ("get", reverse("animal_create")), ("get", reverse("animal_detail", args=[pk])),
        ("get", reverse("animal_edit", args=[pk])), ("get", reverse("animal_archive", args=[pk])),
        ("post", reverse("animal_archive", args=[pk])),
        ("get", reverse("tutor_list")), ("get", reverse("tutor_create")),
        ("get", reverse("tutor_detail", args=[tpk])), ("get", reverse("tutor_edit", args=[tpk])),
        ("post", reverse("tutor_edit", args=[tpk])),
        ("post", reverse("photo_set_primary", args=["abc"])), ("post", reverse("photo_delete", args=["abc"])),
    ]


def test_every_page_requires_sign_in(client, animal):
    for method, url in page_urls(animal):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_json_endpoints_answer_401_in_portuguese(client, animal):
    for method, url in [("post", reverse("photo_presign", args=[animal.pk])),
                        ("post", reverse("photo_confirm", args=[animal.pk])),
                        ("get", reverse("photo_status", args=["abc"]))]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.json() == {"error": "Sessão expirada: entre novamente."}


def test_admin_requires_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302


def test_public_pages(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200


def test_nothing_is_written_by_anonymous_posts(client, animal):
    client.post(reverse("animal_archive", args=[animal.pk]))
    animal.refresh_from_db()
    assert animal.is_active


@pytest.mark.parametrize("who", ["reception_client", "vet_client", "admin_client_"])
def test_all_roles_can_register_and_edit(request, who, animal):
    c = request.getfixturevalue(who)
    for name, args in [("animal_list", []), ("animal_create", []), ("animal_detail", [animal.pk]),
                       ("animal_edit", [animal.pk]), ("tutor_list", []), ("tutor_create", []),
                       ("tutor_detail", [animal.tutor_id]), ("tutor_edit", [animal.tutor_id])]:
        assert c.get(reverse(name, args=args)).status_code == 200, name
    response = c.post(reverse("tutor_create"), {"name": "Novo Tutor", "phone": "(11) 91234-5678"})
    assert response.status_code == 302
    response = c.post(reverse("animal_edit", args=[animal.pk]),
                      {"name": "Thor II", "species": "dog", "sex": "male", "tutor": animal.tutor_id,
                       "edit_token": token_for(animal)})
    assert response.status_code == 302
    animal.refresh_from_db()
    assert animal.name == "Thor II"


@pytest.mark.parametrize("who", ["reception_client", "vet_client"])
def test_reception_and_vet_cannot_archive_export_or_admin(request, who, animal):
    c = request.getfixturevalue(who)
    assert c.get(reverse("animal_archive", args=[animal.pk])).status_code == 403
    assert c.post(reverse("animal_archive", args=[animal.pk])).status_code == 403
    assert c.post(reverse("animal_reactivate", args=[animal.pk])).status_code == 403
    assert c.get(reverse("animal_export")).status_code == 403
    response = c.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    animal.refresh_from_db()
    assert animal.is_active
    page = c.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'id="archive-animal"' not in page
    assert 'id="export-csv"' not in c.get(reverse("animal_list")).content.decode()


def test_administration_can_archive_and_export_but_not_use_the_django_admin(admin_client_, animal):
    """The Django admin is for superusers; Administração has the app's own pages."""
    assert admin_client_.get(reverse("animal_export")).status_code == 200
    for url in ("/admin/", "/admin/auth/user/", "/admin/auth/user/add/"):
        response = admin_client_.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    response = admin_client_.post(reverse("animal_archive", args=[animal.pk]))
    assert response.status_code == 302
    animal.refresh_from_db()
    assert not animal.is_active
    admin_client_.post(reverse("animal_reactivate", args=[animal.pk]))
    animal.refresh_from_db()
    assert animal.is_active


def test_user_without_role_sees_nothing(nobody_client, animal):
    for name, args in [("animal_list", []), ("animal_detail", [animal.pk]), ("tutor_list", []),
                       ("tutor_detail", [animal.tutor_id]), ("animal_create", [])]:
        assert nobody_client.get(reverse(name, args=args)).status_code == 403, name
    assert nobody_client.post(reverse("photo_presign", args=[animal.pk])).status_code == 403
    assert nobody_client.get(reverse("photo_status", args=["x"])).status_code == 403


def test_csrf_is_enforced(reception_user, animal):
    c = Client(enforce_csrf_checks=True)
    c.force_login(reception_user)
    url = reverse("animal_edit", args=[animal.pk])
    data = {"name": "Sem token", "species": "dog", "sex": "male", "tutor": animal.tutor_id}
    response = c.post(url, data)
    assert response.status_code == 403
    animal.refresh_from_db()
    assert animal.name == "Thor"
    # with the token from the form, the same post goes through
    page = c.get(url)
    token = page.context["csrf_token"]
    response = c.post(url, {**data, "csrfmiddlewaretoken": str(token),
                            "edit_token": page.context["form"]["edit_token"].value()})
    assert response.status_code == 302
    animal.refresh_from_db()
    assert animal.name == "Sem token"


def test_csrf_on_json_endpoints(reception_user, animal):
    c = Client(enforce_csrf_checks=True)
    c.force_login(reception_user)
    response = c.post(reverse("photo_presign", args=[animal.pk]),
                      {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10})
    assert response.status_code == 403


def test_csrf_on_sign_in(reception_user):
    c = Client(enforce_csrf_checks=True)
    response = c.post(reverse("login"), {"username": "recepcao", "password": "senha-de-teste-123"})
    assert response.status_code == 403


def test_sign_out_is_post_only(reception_client):
    assert reception_client.get(reverse("logout")).status_code == 405
    assert reception_client.post(reverse("logout")).status_code == 302
    assert reception_client.get(reverse("animal_list")).status_code == 302


def test_sign_in_and_redirect_to_next(client, reception_user):
    response = client.post(reverse("login") + "?next=/tutores/",
                           {"username": "recepcao", "password": "senha-de-teste-123", "next": "/tutores/"})
    assert response.status_code == 302 and response["Location"] == "/tutores/"


def test_groups_exist_with_permissions(db):
    from django.contrib.auth.models import Group

    reception = Group.objects.get(name="Recepção")
    admin = Group.objects.get(name="Administração")
    assert not reception.permissions.filter(codename__in=["archive_animal", "export_animal"]).exists()
    assert admin.permissions.filter(codename="archive_animal").exists()
    assert admin.permissions.filter(codename="export_animal").exists()
    assert admin.permissions.filter(codename="add_user").exists()
    assert Animal._meta.permissions
