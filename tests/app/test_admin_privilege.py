"""Nobody changes an account with more power than their own, or hands out power they lack (Django admin)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from registry import roles

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Outra-senha-forte-987"


@pytest.fixture
def people(admin_user, reception_user):
    root = User.objects.create_superuser("root", password="senha-de-teste-123")
    other_admin = User.objects.create_user("gestor2", password="senha-de-teste-123", is_staff=True)
    other_admin.groups.add(Group.objects.get(name=roles.ADMIN))
    strong = Group.objects.create(name="Poderoso")
    strong.permissions.add(Permission.objects.get(codename="change_group"))
    beyond = User.objects.create_user("especial", password="senha-de-teste-123", is_staff=True)
    beyond.groups.add(strong)
    return {"root": root, "gestor": admin_user, "gestor2": other_admin, "recepcao": reception_user,
            "especial": beyond, "strong_group": strong}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def form_data(user, **changes) -> dict:
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
            "groups": [g.pk for g in user.groups.all()],
            "user_permissions": [p.pk for p in user.user_permissions.all()]}
    if user.is_active:
        data["is_active"] = "on"
    if user.is_staff:
        data["is_staff"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def change(actor, target, **changes):
    return client_for(actor).post(f"/admin/auth/user/{target.pk}/change/", form_data(target, **changes))


def set_password(actor, target):
    return client_for(actor).post(f"/admin/auth/user/{target.pk}/password/",
                                  {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})


# (actor, target, may manage)
MATRIX = [
    ("gestor", "root", False),
    ("gestor", "especial", False),  # holds a permission the actor lacks
    ("gestor", "gestor2", True),
    ("gestor", "recepcao", True),
    ("gestor", "gestor", True),
    ("root", "root", True),
    ("root", "especial", True),
    ("root", "gestor", True),
    ("root", "recepcao", True),
]


@pytest.mark.parametrize(("actor", "target", "allowed"), MATRIX)
def test_password_change_matrix(people, actor, target, allowed):
    response = set_password(people[actor], people[target])
    people[target].refresh_from_db()
    assert people[target].check_password(NEW_PASSWORD) is allowed
    assert response.status_code == (302 if allowed else 403)


@pytest.mark.parametrize(("actor", "target", "allowed"), MATRIX)
def test_change_page_and_delete_matrix(people, actor, target, allowed):
    c = client_for(people[actor])
    page = c.get(f"/admin/auth/user/{people[target].pk}/change/")
    if allowed:
        assert page.status_code == 200
    else:  # read-only view at most: no form that saves
        assert page.status_code in (200, 403)
        assert "_save" not in page.content.decode()
        assert change(people[actor], people[target], first_name="Mudado").status_code == 403
        people[target].refresh_from_db()
        assert people[target].first_name != "Mudado"
    if actor != target:
        c.post(f"/admin/auth/user/{people[target].pk}/delete/", {"post": "yes"})
        assert User.objects.filter(pk=people[target].pk).exists() is not allowed


@pytest.mark.parametrize("target", ["gestor", "gestor2", "recepcao"])
def test_staff_admin_cannot_grant_superuser(people, target):
    change(people["gestor"], people[target], is_superuser="on", is_staff="on")
    people[target].refresh_from_db()
    assert not people[target].is_superuser


@pytest.mark.parametrize("target", ["gestor", "recepcao"])
def test_staff_admin_cannot_hand_out_a_group_or_permission_it_lacks(people, target):
    response = change(people["gestor"], people[target], groups=[people["strong_group"].pk])
    assert response.status_code == 200  # the form again, with an error
    perm = Permission.objects.get(codename="change_group")
    change(people["gestor"], people[target], user_permissions=[perm.pk])
    people[target].refresh_from_db()
    assert not people[target].groups.filter(name="Poderoso").exists()
    assert not people[target].has_perm("auth.change_group")


def test_staff_admin_can_hand_out_what_it_holds(people):
    target = people["recepcao"]
    admin_group = Group.objects.get(name=roles.ADMIN)
    perm = Permission.objects.get(codename="export_animal")
    response = change(people["gestor"], target, is_staff="on", groups=[admin_group.pk], user_permissions=[perm.pk])
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_staff and target.groups.filter(pk=admin_group.pk).exists()
    assert target.user_permissions.filter(pk=perm.pk).exists()


def test_superuser_can_grant_everything(people):
    target = people["recepcao"]
    perm = Permission.objects.get(codename="change_group")
    response = change(people["root"], target, is_superuser="on", is_staff="on",
                      groups=[people["strong_group"].pk], user_permissions=[perm.pk])
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_superuser and target.has_perm("auth.change_group")


def test_group_with_more_power_cannot_be_edited_by_staff_admin(people):
    admin = people["gestor"]
    admin.user_permissions.add(Permission.objects.get(codename="change_group"))
    admin = User.objects.get(pk=admin.pk)
    admin_group = Group.objects.get(name=roles.ADMIN)
    delete_user = Permission.objects.get(codename="delete_user")
    extra = Permission.objects.get(codename="add_group")  # not held
    c = client_for(admin)
    c.post(f"/admin/auth/group/{admin_group.pk}/change/",
           {"name": admin_group.name, "permissions": [p.pk for p in admin_group.permissions.all()] + [extra.pk]})
    assert not admin_group.permissions.filter(pk=extra.pk).exists()
    assert admin_group.permissions.filter(pk=delete_user.pk).exists()
