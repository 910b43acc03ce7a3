"""One sign-in limiter (django-axes + registry.auth) for the app form and /admin/login/."""

from __future__ import annotations

import logging
import threading

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse
from registry.auth import LOCKED_MESSAGE, client_ip
from registry.models import AuditEntry

PASSWORD = "senha-de-teste-123"
IP = "203.0.113.7"


def app_sign_in(client, password, username="recepcao", ip=IP, ua="ua-1"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip, HTTP_USER_AGENT=ua)


def admin_sign_in(client, password, username="gestor", ip=IP, ua="ua-1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password},
                       REMOTE_ADDR=ip, HTTP_USER_AGENT=ua)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_app_form_locks_after_limit_even_with_right_password(client, reception_user, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        response = app_sign_in(client, "errada")
        assert response.status_code == 200
        assert "Por favor, entre com um usuário  e senha corretos." in response.content.decode()
    assert app_sign_in(client, "errada").status_code == 429  # the limit-th failure locks
    response = app_sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert 'lang="pt-BR"' in response.content.decode()
    assert not signed_in(client)
    # another address is not affected
    assert app_sign_in(Client(), PASSWORD, ip="198.51.100.1").status_code == 302


@pytest.mark.django_db
def test_admin_login_goes_through_the_same_limiter(client, admin_user, settings):
    for _ in range(12):
        admin_sign_in(client, "errada")
    response = admin_sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert client.get(reverse("animal_list")).status_code == 302  # to the sign-in page
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_failures_on_both_forms_add_up(client, admin_user, settings):
    for i in range(settings.LOGIN_MAX_FAILURES):
        (app_sign_in if i % 2 else admin_sign_in)(client, "errada", username="gestor")
    assert app_sign_in(client, PASSWORD, username="gestor").status_code == 429
    assert admin_sign_in(client, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_username_case_and_user_agent_do_not_make_new_counters(client, reception_user, settings):
    for i in range(settings.LOGIN_MAX_FAILURES):
        app_sign_in(client, "errada", username="RECEPCAO " if i % 2 else "recepcao", ua=f"agent-{i}")
    assert app_sign_in(client, PASSWORD, ua="fresh-agent").status_code == 429


@pytest.mark.django_db
def test_per_address_limit_across_usernames(client, reception_user, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 8
    for i in range(8):
        app_sign_in(client, "errada", username=f"usuario{i}")
    # a username never tried from this address is refused too
    assert app_sign_in(Client(), PASSWORD).status_code == 429
    assert app_sign_in(Client(), PASSWORD, ip="198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_lock_expires_and_success_forgives_only_that_username(client, reception_user, vet_user, settings):
    from datetime import timedelta

    for _ in range(settings.LOGIN_MAX_FAILURES):
        app_sign_in(client, "errada")
    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)
    assert app_sign_in(client, PASSWORD).status_code == 302
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    c = Client()
    for _ in range(2):
        app_sign_in(c, "errada", username="vet")
        app_sign_in(c, "errada", username="recepcao")
    assert app_sign_in(c, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="recepcao").exists()
    assert AccessAttempt.objects.get(username="vet").failures_since_start == 2


@pytest.mark.django_db
def test_sign_ins_are_audited_without_passwords(client, reception_user, caplog):
    caplog.set_level(logging.DEBUG)
    app_sign_in(client, "segredo-errado-xyz")
    admin_sign_in(Client(), "segredo-errado-xyz", username="ninguem")
    app_sign_in(client, PASSWORD)
    entries = list(AuditEntry.objects.filter(object_type="user").order_by("id"))
    assert [e.action for e in entries] == ["login_fail", "login_fail", "login"]
    assert entries[0].username == "recepcao"
    assert entries[1].username == "ninguem" and "/admin/login/" in entries[1].new_value
    assert entries[2].user == reception_user and IP in entries[2].new_value
    everything = " ".join(f"{e.old_value} {e.new_value}" for e in entries) + caplog.text
    everything += " ".join(str(a.post_data) for a in AccessAttempt.objects.all())
    assert "segredo-errado-xyz" not in everything and PASSWORD not in everything


def test_client_ip_trusts_x_real_ip_only_from_the_local_proxy(rf):
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")) == "203.0.113.9"
    assert client_ip(rf.get("/", REMOTE_ADDR="", HTTP_X_REAL_IP="203.0.113.9")) == "203.0.113.9"  # unix socket
    assert client_ip(rf.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_REAL_IP="1.2.3.4")) == "203.0.113.5"


@pytest.mark.django_db
def test_axes_sees_the_address_nginx_passes(client, reception_user, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post(reverse("login"), {"username": "recepcao", "password": "x"},
                    REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.50")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50"}
    ok = client.post(reverse("login"), {"username": "recepcao", "password": PASSWORD},
                     REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.51")
    assert ok.status_code == 302


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("form", ["app", "admin"])
def test_parallel_burst_gets_no_more_tries_than_the_limit(form, settings):
    User.objects.create_user("alvo", password=PASSWORD, is_staff=True)
    limit = settings.LOGIN_MAX_FAILURES
    n = 16
    barrier = threading.Barrier(n)
    codes, errors = [], []

    def attempt(i):
        try:
            barrier.wait()
            c = Client()
            post = app_sign_in if form == "app" else admin_sign_in
            codes.append(post(c, f"errada-{i}", username="alvo", ua=f"bot-{i}").status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    admitted = AuditEntry.objects.filter(action="login_fail", username="alvo",
                                         new_value__startswith="falha").count()
    refused = AuditEntry.objects.filter(action="login_fail", username="alvo",
                                        new_value__startswith="bloqueado").count()
    assert admitted == limit, (admitted, refused, codes)
    assert refused == n - limit
    assert sum(AccessAttempt.objects.filter(username="alvo").values_list("failures_since_start", flat=True)) == limit
    assert app_sign_in(Client(), PASSWORD, username="alvo").status_code == 429


@pytest.mark.django_db
def test_authenticate_without_a_request_is_an_operator_call_not_limited(reception_user, settings):
    from django.contrib.auth import authenticate

    for _ in range(settings.LOGIN_MAX_FAILURES + 1):
        assert authenticate(username="recepcao", password="errada") is None
    assert authenticate(username="recepcao", password=PASSWORD) == reception_user
