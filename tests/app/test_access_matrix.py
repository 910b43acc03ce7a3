"""Every door of the app and of its admin, generated from the URL map.

The test walks ``django.urls.get_resolver()`` recursively (the admin included),
fills each URL's kwargs with real objects, and for every view checks:

* anonymous -> the declared outcome (sign-in redirect, 401 JSON for /api/, ...);
* each subject (no role, each clinic role, staff without a role) and each of
  GET/POST -> allowed or refused exactly as tests/app/access_table.py says;
* every unsafe method (POST, PUT, PATCH, DELETE) without a CSRF token -> 403
  from the CSRF check (seen in the ``django.security.csrf`` log), whoever asks.

A view that is not in the table fails ``test_every_view_is_in_the_table``; an
entry whose view no longer exists fails it too.
"""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from registry import roles
from registry.models import Animal, AuditEntry, Breed, Photo, PhotoDeletion, Species, Tutor

from tests.app import access_table as T
from tests.app.factories import BUCKET, create_user

pytestmark = pytest.mark.django_db

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


# --- the URL map -------------------------------------------------------------

def _walk(resolver, prefix="", namespace=None):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x) or None
            yield from _walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            ns = f"{namespace}:" if namespace else ""
            key = ns + (p.name or route)
            yield key, route, p


def url_map() -> dict[str, tuple[str, URLPattern]]:
    doors = {}
    for key, route, pattern in _walk(get_resolver()):
        assert key not in doors, f"two URL patterns share the key {key!r}"
        doors[key] = (route, pattern)
    return doors


DOORS = url_map()


def test_every_view_is_in_the_table():
    missing = sorted(set(DOORS) - set(T.ACCESS))
    assert not missing, f"views without an entry in tests/app/access_table.py: {missing}"
    stale = sorted(set(T.ACCESS) - set(DOORS) - T.CONDITIONAL)
    assert not stale, f"entries in tests/app/access_table.py for views that do not exist: {stale}"


def test_the_walk_sees_the_admin_and_the_app():
    """Guard the walker itself: it must reach nested (namespaced) patterns."""
    assert "admin:auth_user_change" in DOORS and "admin:registry_animal_delete" in DOORS
    assert "tutor_edit" in DOORS and "photo_delete" in DOORS


# --- subjects and objects ------------------------------------------------------

@pytest.fixture
def world(make_animal, s3_bucket):
    """Real objects for every kwarg, and one signed-in client per subject."""
    users = {
        T.NO_ROLE: create_user("semgrupo", None),
        T.STAFF_NO_ROLE: create_user("equipe", None, is_staff=True),
        roles.RECEPTION: create_user("recepcao", roles.RECEPTION),
        roles.VET: create_user("vet", roles.VET),
        roles.ADMIN: create_user("gestor", roles.ADMIN, is_staff=True),
        T.SUPERUSER: User.objects.create_superuser("raiz", password="senha-de-teste-123"),
    }
    animal = make_animal()
    photo = Photo.objects.create(animal=animal, key=f"uploads/{'a' * 32}/thor.jpg", original_name="thor.jpg",
                                 content_type="image/jpeg", size=1234)
    s3_bucket.put_object(Bucket=BUCKET, Key=photo.key, Body=b"x")
    objects = {
        Animal: animal, Tutor: animal.tutor, Photo: photo,
        Species: animal.species, Breed: Breed.objects.filter(species=animal.species, is_srd=False).first(),
        AuditEntry: AuditEntry.objects.create(object_type="animal", object_id=animal.pk, action="create"),
        User: users[roles.RECEPTION], Group: Group.objects.get(name=roles.RECEPTION),
        PhotoDeletion: PhotoDeletion.objects.create(photo_id="b" * 32, animal_id=animal.pk,
                                                    settle_until=timezone.now()),
        AccessAttempt: AccessAttempt.objects.create(username="alguem", ip_address="10.0.0.1", user_agent="t",
                                                    path_info="/entrar/", failures_since_start=1),
        AccessFailureLog: AccessFailureLog.objects.create(username="alguem", ip_address="10.0.0.1",
                                                          user_agent="t", path_info="/entrar/"),
        AccessLog: AccessLog.objects.create(username="alguem", ip_address="10.0.0.1", user_agent="t",
                                            path_info="/entrar/"),
    }
    return {"users": users, "objects": objects, "animal": animal, "photo": photo}


def fill_kwargs(key: str, pattern: URLPattern, world) -> dict:
    """Kwargs for one URL, from the objects of the `world` fixture."""
    names = list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)
    objects = world["objects"]
    model_admin = getattr(pattern.callback, "model_admin", None)
    kwargs = {}
    for name in names:
        if name == "object_id" and model_admin is not None:
            kwargs[name] = str(objects[model_admin.model].pk)
        elif name == "id":  # admin:auth_user_password_change
            kwargs[name] = str(objects[User].pk)
        elif name == "pk":
            kwargs[name] = objects[T.ACCESS[key].obj].pk
        elif name == "photo_id":
            kwargs[name] = world["photo"].photo_id
        elif name == "content_type_id":  # admin:view_on_site
            kwargs[name] = str(ContentType.objects.get_for_model(User).pk)
            kwargs["object_id"] = str(objects[User].pk)
        elif name == "object_id":
            continue  # filled with content_type_id
        elif name == "app_label":
            kwargs[name] = "registry"
        elif name == "url":  # admin catch-all
            kwargs[name] = "nao-existe/"
        elif name == "path":  # static files, when served by Django
            kwargs[name] = "registry/app.css"
        else:  # pragma: no cover - a new kwarg needs a real object here
            raise AssertionError(f"{key}: no object for the URL kwarg {name!r}; add one to fill_kwargs")
    return kwargs


def door_url(key: str, world) -> str:
    route, pattern = DOORS[key]
    kwargs = fill_kwargs(key, pattern, world)
    if pattern.name:
        return reverse(key, kwargs=kwargs)
    # unnamed pattern: substitute the kwargs into the route
    url = "/" + route
    for name, value in kwargs.items():
        for token in (f"(?P<{name}>.*)", f"<path:{name}>", f"<{name}>"):
            url = url.replace(token, str(value))
    url = url.replace("^", "").replace("$", "")
    resolved = get_resolver().resolve(url)
    assert resolved.route == route or resolved.func is pattern.callback, (key, url)
    return url


# --- outcomes ---------------------------------------------------------------------

def classify(response) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (301, 302):
        if location.startswith(resolve_url(settings.LOGIN_URL) + "?next="):
            return T.LOGIN
        if location.startswith("/admin/login/?next="):
            return T.ADMIN_LOGIN
        return T.OK
    if status == 401:
        return T.API_LOGIN
    if status == 403:
        return T.DENIED
    if status == 404:
        return T.NOT_FOUND
    if status == 405:
        return T.NOT_ALLOWED
    assert status < 500, f"server error {status}"
    return T.OK


def ask(client: Client, method: str, url: str):
    """One request whose writes are rolled back, so every subject sees the same world."""
    with transaction.atomic():
        response = client.generic(method, url, secure=False)
        transaction.set_rollback(True)
    return response


def client_for(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


KEYS = sorted(DOORS)


@pytest.mark.parametrize("key", KEYS)
def test_door(key, world):
    entry = T.ACCESS.get(key)
    assert entry is not None, f"{key} has no entry in tests/app/access_table.py"
    url = door_url(key, world)
    seen, expected = {}, {}
    for method in ("GET", "POST"):
        for subject in T.SUBJECTS:
            user = None if subject == T.ANONYMOUS else world["users"][subject]
            expected[(subject, method)] = entry.expect(subject, method)
            seen[(subject, method)] = classify(ask(client_for(user), method, url))
    wrong = {k: f"got {seen[k]}, table says {expected[k]}" for k in seen if seen[k] != expected[k]}
    assert not wrong, f"{key} ({url}): {wrong}"


@pytest.mark.parametrize("key", KEYS)
def test_door_refuses_unsafe_methods_without_csrf_token(key, world, caplog):
    url = door_url(key, world)
    for subject in (T.ANONYMOUS, roles.ADMIN, roles.RECEPTION):
        c = Client(enforce_csrf_checks=True)
        if subject != T.ANONYMOUS:
            c.force_login(world["users"][subject])
        for method in UNSAFE:
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
                response = ask(c, method, url)
            csrf_refusals = [r for r in caplog.records if r.name == "django.security.csrf"]
            assert response.status_code == 403 and csrf_refusals, (
                f"{method} {key} ({url}) as {subject} without a CSRF token answered "
                f"{response.status_code} and was not refused by the CSRF check")
