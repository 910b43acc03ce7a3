"""The Django admin is for active superusers only; there, nobody changes an
account with more power than their own, hands out power they lack, deletes an
account or edits a role. (The clinic's Administração manages staff in the
app's own pages: test_staff.py.)"""

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


ACTORS_REFUSED = ("gestor", "gestor2", "especial", "recepcao")  # staff flag or role: not the admin's


def admin_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("actor", ACTORS_REFUSED)
def test_only_superusers_get_past_the_admin_gate(people, actor):
    c = client_for(people[actor])
    for url in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{people['recepcao'].pk}/change/",
                "/admin/registry/auditentry/", "/admin/registry/tutor/"):
        assert admin_sign_in(c.get(url)), url
    assert client_for(people["root"]).get("/admin/").status_code == 200


def test_an_inactive_superuser_is_refused(people):
    root = people["root"]
    c = client_for(root)
    User.objects.filter(pk=root.pk).update(is_active=False)
    assert c.get("/admin/").status_code == 302


@pytest.mark.parametrize("actor", ACTORS_REFUSED)
@pytest.mark.parametrize("target", ["root", "gestor2", "recepcao"])
def test_no_one_but_a_superuser_changes_an_account_in_the_admin(people, actor, target):
    if actor == target:
        return
    assert admin_sign_in(set_password(people[actor], people[target]))
    assert admin_sign_in(change(people[actor], people[target], first_name="Mudado", is_superuser="on",
                                is_staff="on", groups=[people["strong_group"].pk]))
    people[target].refresh_from_db()
    assert not people[target].check_password(NEW_PASSWORD)
    assert people[target].first_name != "Mudado"
    assert not people[target].groups.filter(name="Poderoso").exists()
    if target != "root":
        assert not people[target].is_superuser


@pytest.mark.parametrize("target", ["root", "especial", "gestor", "recepcao"])
def test_superuser_changes_any_account_but_deletes_none(people, target):
    root = people["root"]
    response = set_password(root, people[target])
    assert response.status_code == 302 and not admin_sign_in(response)
    people[target].refresh_from_db()
    assert people[target].check_password(NEW_PASSWORD)
    c = client_for(root)
    assert c.get(f"/admin/auth/user/{people[target].pk}/change/").status_code == 200
    # accounts are deactivated, never deleted: the audit trail refers to them
    assert c.post(f"/admin/auth/user/{people[target].pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=people[target].pk).exists()


def test_superuser_can_grant_everything(people):
    target = people["recepcao"]
    perm = Permission.objects.get(codename="change_group")
    response = change(people["root"], target, is_superuser="on", is_staff="on",
                      groups=[people["strong_group"].pk], user_permissions=[perm.pk])
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_superuser and target.has_perm("auth.change_group")


def test_the_roles_are_read_only_in_the_admin_even_for_a_superuser(people):
    """The groups are the roles of registry/roles.py: changed in code, never by hand."""
    admin_group = Group.objects.get(name=roles.ADMIN)
    before = set(admin_group.permissions.values_list("pk", flat=True))
    extra = Permission.objects.get(codename="add_group")
    c = client_for(people["root"])
    c.post(f"/admin/auth/group/{admin_group.pk}/change/",
           {"name": "Outro nome", "permissions": [*before, extra.pk]})
    assert c.post(f"/admin/auth/group/{admin_group.pk}/delete/", {"post": "yes"}).status_code == 403
    assert c.post("/admin/auth/group/add/", {"name": "Nova"}).status_code == 403
    admin_group.refresh_from_db()
    assert admin_group.name == roles.ADMIN
    assert set(admin_group.permissions.values_list("pk", flat=True)) == before
    assert not Group.objects.filter(name="Nova").exists()
