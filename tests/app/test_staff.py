"""Staff accounts in the app (registry.staff, registry.views_staff): Administração
creates, edits the role of, deactivates/reactivates and resets the password of
staff; nobody touches an account with more power than their own; every change
is a STAFF entry; a reset forces a password change at the next sign-in."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from registry import roles
from registry.models import AuditEntry, StaffProfile

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
PASSWORD = "senha-de-teste-123"


def signed_in(user) -> Client:
    c = Client(REMOTE_ADDR=IP)
    c.force_login(user)
    return c


@pytest.fixture
def gestor(admin_user):
    return signed_in(admin_user)


def staff_entries(target) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="user", object_id=target.pk, action=AuditEntry.Action.STAFF)
                .order_by("id"))


def new_person(**over) -> dict:
    data = {"username": "maria.souza", "first_name": "Maria", "last_name": "Souza", "email": "maria@example.com",
            "role": roles.RECEPTION, "password_mode": "gerar"}
    data.update(over)
    return data


def groups_of(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


# --- create -------------------------------------------------------------------------

def test_create_with_a_generated_password_shown_once(gestor, admin_user):
    response = gestor.post(reverse("staff_create"), new_person())
    assert response.status_code == 200
    html = response.content.decode()
    password = re.search(r'id="one-time-password">([^<]+)<', html).group(1)
    person = User.objects.get(username="maria.souza")
    assert person.check_password(password) and len(password) >= 12
    assert groups_of(person) == [roles.RECEPTION] and person.is_active and not person.is_staff
    assert StaffProfile.objects.get(user=person).must_change_password
    [entry] = staff_entries(person)
    assert (entry.username, entry.ip_address, entry.field) == ("gestor", IP, "conta")
    assert entry.new_value == "criada: maria.souza (Recepção)"
    # shown once: nowhere else, never in the trail
    assert password not in gestor.get(reverse("staff_list")).content.decode()
    assert not AuditEntry.objects.filter(new_value__contains=password).exists()
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_create_with_a_typed_password_goes_through_the_validators(gestor):
    for typed, message in (("curta1", "Esta senha é muito curta"),
                           ("1234567890123", "Esta senha é inteiramente numérica"),
                           ("maria.souza1", "muito parecida"),
                           ):
        response = gestor.post(reverse("staff_create"), new_person(password_mode="digitar", password1=typed,
                                                                   password2=typed))
        assert response.status_code == 200 and message in response.content.decode(), typed
    response = gestor.post(reverse("staff_create"), new_person(password_mode="digitar", password1="Uma-Senha-Boa-42",
                                                               password2="Outra-Senha-Boa-42"))
    assert "As duas senhas não são iguais." in response.content.decode()
    assert not User.objects.filter(username="maria.souza").exists()
    response = gestor.post(reverse("staff_create"), new_person(password_mode="digitar", password1="Uma-Senha-Boa-42",
                                                               password2="Uma-Senha-Boa-42"))
    assert response.status_code == 302
    assert User.objects.get(username="maria.souza").check_password("Uma-Senha-Boa-42")


def test_create_refuses_a_taken_username_and_requires_one_role(gestor, reception_user):
    response = gestor.post(reverse("staff_create"), new_person(username="RECEPCAO"))
    assert "Já existe uma conta com este usuário." in response.content.decode()
    response = gestor.post(reverse("staff_create"), new_person(role="Superusuário"))
    assert "Faça uma escolha válida" in response.content.decode()
    assert User.objects.count() == 2


# --- role, deactivate, reactivate ------------------------------------------------------

def test_one_role_per_person_and_the_change_is_audited(gestor, reception_user):
    reception_user.groups.add(Group.objects.get(name=roles.VET))  # two roles from the past: made one
    response = gestor.post(reverse("staff_edit", args=[reception_user.pk]),
                           {"first_name": "Rita", "last_name": "", "email": "", "role": roles.ADMIN})
    assert response.status_code == 302
    assert groups_of(reception_user) == [roles.ADMIN]
    fields = [(e.field, e.old_value, e.new_value) for e in staff_entries(reception_user)]
    assert ("nome", "", "Rita") in fields and ("papel", "", roles.ADMIN) in fields
    assert all(e.ip_address == IP for e in staff_entries(reception_user))


def test_deactivate_ends_sessions_and_sign_in_then_reactivate(gestor, reception_user):
    session = signed_in(reception_user)
    assert session.get(reverse("animal_list")).status_code == 200
    assert gestor.get(reverse("staff_deactivate", args=[reception_user.pk])).status_code == 200  # confirm page
    assert gestor.post(reverse("staff_deactivate", args=[reception_user.pk])).status_code == 302
    reception_user.refresh_from_db()
    assert not reception_user.is_active
    assert session.get(reverse("animal_list")).status_code == 302  # signed out
    refused = Client().post(reverse("login"), {"username": "recepcao", "password": PASSWORD}, REMOTE_ADDR=IP)
    assert "_auth_user_id" not in refused.client.session
    gestor.post(reverse("staff_reactivate", args=[reception_user.pk]))
    reception_user.refresh_from_db()
    assert reception_user.is_active
    assert [(e.field, e.new_value) for e in staff_entries(reception_user)] == [("situação", "Desativada"),
                                                                            ("situação", "Ativa")]


def test_nobody_deactivates_themselves_or_the_last_administration(gestor, admin_user):
    response = gestor.post(reverse("staff_deactivate", args=[admin_user.pk]))
    assert response.status_code == 400 and "a sua própria conta" in response.content.decode()
    other = User.objects.create_user("gestor2", password=PASSWORD)
    other.groups.add(Group.objects.get(name=roles.ADMIN))
    c = signed_in(other)
    # two active Administração: one can demote the other
    response = c.post(reverse("staff_edit", args=[admin_user.pk]),
                      {"first_name": "Gil", "last_name": "", "email": "", "role": roles.VET})
    assert response.status_code == 302 and groups_of(admin_user) == [roles.VET]
    # now gestor2 is the last one: nobody can deactivate or demote them (a superuser neither)
    root = signed_in(User.objects.create_superuser("raiz", password=PASSWORD))
    response = root.post(reverse("staff_deactivate", args=[other.pk]))
    assert response.status_code == 400 and "última pessoa ativa da Administração" in response.content.decode()
    response = root.post(reverse("staff_edit", args=[other.pk]),
                         {"first_name": "Gil", "last_name": "", "email": "", "role": roles.RECEPTION})
    assert "última pessoa ativa da Administração" in response.content.decode()
    response = c.post(reverse("staff_edit", args=[other.pk]),
                      {"first_name": "Gil", "last_name": "", "email": "", "role": roles.RECEPTION})
    assert "o seu próprio papel" in response.content.decode()
    other.refresh_from_db()
    assert other.is_active and groups_of(other) == [roles.ADMIN]


@pytest.mark.parametrize("target_kind", ["superuser", "more power"])
def test_administration_cannot_touch_an_account_with_more_power(gestor, target_kind):
    if target_kind == "superuser":
        target = User.objects.create_superuser("raiz", password=PASSWORD)
    else:
        target = User.objects.create_user("especial", password=PASSWORD)
        strong = Group.objects.create(name="Poderoso")
        strong.permissions.add(Permission.objects.get(codename="change_group"))
        target.groups.add(strong)
    for name, data in (("staff_edit", {"first_name": "X", "last_name": "", "email": "", "role": roles.VET}),
                       ("staff_deactivate", {}),
                       ("staff_password", {"password_mode": "gerar"})):
        assert gestor.get(reverse(name, args=[target.pk])).status_code == 403, name
        response = gestor.post(reverse(name, args=[target.pk]), data)
        assert response.status_code == 403, name
        assert "Esta conta" in response.content.decode()
    target.refresh_from_db()
    assert target.is_active and target.check_password(PASSWORD) and target.first_name == ""
    assert staff_entries(target) == []


def test_a_superuser_manages_administration_in_the_app(admin_user):
    root = signed_in(User.objects.create_superuser("raiz", password=PASSWORD))
    other = User.objects.create_user("gestor2", password=PASSWORD)
    other.groups.add(Group.objects.get(name=roles.ADMIN))
    assert root.post(reverse("staff_deactivate", args=[admin_user.pk])).status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.is_active


# --- password reset and the forced change -------------------------------------------------

def test_reset_forces_a_change_at_the_next_sign_in(gestor, reception_user):
    old_session = signed_in(reception_user)
    response = gestor.post(reverse("staff_password", args=[reception_user.pk]), {"password_mode": "gerar"})
    temporary = re.search(r'id="one-time-password">([^<]+)<', response.content.decode()).group(1)
    reception_user.refresh_from_db()
    assert reception_user.check_password(temporary) and not reception_user.check_password(PASSWORD)
    assert old_session.get(reverse("animal_list")).status_code == 302  # sessions ended
    [entry] = staff_entries(reception_user)
    assert entry.field == "senha" and temporary not in entry.new_value and entry.ip_address == IP

    c = Client(REMOTE_ADDR=IP)
    assert c.post(reverse("login"), {"username": "recepcao", "password": temporary}).status_code == 302
    for url in (reverse("animal_list"), reverse("tutor_list"), reverse("tutor_create")):
        response = c.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("password_change"), url
    api = c.get(reverse("photo_status", args=["0" * 32]))
    assert api.status_code == 403 and api.json()["error"] == "Troque a sua senha antes de continuar."
    page = c.get(reverse("password_change")).content.decode()
    assert 'id="forced-change"' in page
    response = c.post(reverse("password_change"), {"old_password": temporary, "new_password1": "Minha-Senha-Nova-77",
                                                   "new_password2": "Minha-Senha-Nova-77"})
    assert response.status_code == 302
    assert c.get(reverse("animal_list")).status_code == 200  # free again, still signed in
    assert not StaffProfile.objects.get(user=reception_user).must_change_password
    assert staff_entries(reception_user)[-1].new_value == "trocada pela própria pessoa"


def test_a_typed_reset_password_is_validated_and_nobody_resets_their_own_here(gestor, admin_user, reception_user):
    response = gestor.post(reverse("staff_password", args=[reception_user.pk]),
                           {"password_mode": "digitar", "password1": "recepcao", "password2": "recepcao"})
    assert response.status_code == 200 and "Esta senha é muito curta" in response.content.decode()
    reception_user.refresh_from_db()
    assert reception_user.check_password(PASSWORD)
    response = gestor.post(reverse("staff_password", args=[admin_user.pk]), {"password_mode": "gerar"})
    assert "Trocar minha senha" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


# --- a locked-out colleague --------------------------------------------------------------

def test_administration_unlocks_a_locked_out_colleague(gestor, reception_user, settings):
    wrong = Client(REMOTE_ADDR=IP)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        wrong.post(reverse("login"), {"username": "recepcao", "password": "errada"})
    right = {"username": "recepcao", "password": PASSWORD}
    assert Client(REMOTE_ADDR=IP).post(reverse("login"), right).status_code == 429
    assert 'id="unlock-recepcao"' in gestor.get(reverse("staff_list")).content.decode()
    assert gestor.post(reverse("staff_unlock", args=[reception_user.pk])).status_code == 302
    assert Client(REMOTE_ADDR=IP).post(reverse("login"), right).status_code == 302
    assert staff_entries(reception_user)[-1].new_value == "desbloqueado pela Administração"
    assert 'id="unlock-recepcao"' not in gestor.get(reverse("staff_list")).content.decode()


# --- the menu -------------------------------------------------------------------------------

def test_the_administration_menu_is_for_administration_only(gestor, reception_client, vet_client):
    assert 'id="nav-administracao"' in gestor.get(reverse("animal_list")).content.decode()
    assert 'id="nav-django-admin"' not in gestor.get(reverse("animal_list")).content.decode()
    for c in (reception_client, vet_client):
        page = c.get(reverse("animal_list")).content.decode()
        assert 'id="nav-administracao"' not in page and 'id="nav-django-admin"' not in page
        assert c.get(reverse("staff_list")).status_code == 403
    root = signed_in(User.objects.create_superuser("raiz", password=PASSWORD))
    assert 'id="nav-django-admin"' in root.get(reverse("animal_list")).content.decode()
