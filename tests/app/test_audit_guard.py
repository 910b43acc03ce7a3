"""Nobody can alter the audit trail: the database refuses every UPDATE and
DELETE of an AuditEntry except the LGPD redaction (registry.audit_guard).

Runs on SQLite here and on PostgreSQL in test_postgres.py's re-run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management.sql import emit_post_migrate_signal
from django.db import IntegrityError, connection, transaction
from django.test import Client
from registry import audit_guard
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(admin_user):
    return AuditEntry.objects.create(object_type="tutor", object_id=7, action=AuditEntry.Action.UPDATE,
                                     field="telefone", old_value="(11) 98765-4321", new_value="(11) 91234-5678",
                                     user=admin_user, username=admin_user.username, ip_address="203.0.113.9")


def refused(fn) -> bool:
    """True when the database refuses the write (inside a savepoint: PostgreSQL
    aborts the transaction on an error)."""
    try:
        with transaction.atomic():
            fn()
    except IntegrityError as exc:
        assert "append-only" in str(exc)
        return True
    return False


def row(entry) -> dict:
    return AuditEntry.objects.filter(pk=entry.pk).values().get()


def rows():
    return list(AuditEntry.objects.order_by("pk").values())


def redact(**extra):
    return {"redacted": True, "old_value": "", "new_value": "", **extra}


def test_every_update_is_refused(entry, reception_user):
    before = rows()
    qs = AuditEntry.objects.filter(pk=entry.pk)
    for change in ({"new_value": "outro"}, {"old_value": ""}, {"field": ""}, {"username": "ninguem"},
                   {"user": reception_user}, {"user": None}, {"ip_address": "10.0.0.1"}, {"ip_address": None},
                   {"timestamp": entry.timestamp - timedelta(days=1)}, {"action": AuditEntry.Action.VIEW},
                   {"object_id": 8}, {"object_type": "animal"}, {"redacted": True}):
        assert refused(lambda change=change: qs.update(**change)), change
    entry.new_value = "salvo pelo ORM"
    assert refused(entry.save)
    assert refused(lambda: connection.cursor().execute(
        "UPDATE registry_auditentry SET new_value = 'sql' WHERE id = %s", [entry.pk]))
    assert rows() == before


def test_every_delete_is_refused(entry):
    before = rows()
    assert refused(entry.delete)
    assert refused(AuditEntry.objects.all().delete)
    assert refused(lambda: connection.cursor().execute("DELETE FROM registry_auditentry"))
    assert rows() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's (SQLite has none)")
def test_truncate_is_refused_on_postgresql(entry):
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks of the INSERT
    assert refused(lambda: connection.cursor().execute("TRUNCATE registry_auditentry"))
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("field", ["", "telefone"])
def test_the_redaction_is_the_one_change_allowed(entry, field):
    before = row(entry)
    assert not refused(lambda: AuditEntry.objects.filter(pk=entry.pk).update(**redact(field=field)))
    after = row(entry)
    assert after == {**before, "redacted": True, "old_value": "", "new_value": "", "field": field}


def test_a_redaction_cannot_carry_any_other_change(entry, reception_user):
    before = row(entry)
    qs = AuditEntry.objects.filter(pk=entry.pk)
    for extra in ({"field": "outro campo"}, {"old_value": "x"}, {"new_value": "[anonimizado]"},
                  {"username": ""}, {"user": None}, {"user": reception_user}, {"ip_address": None},
                  {"timestamp": entry.timestamp + timedelta(seconds=1)}, {"action": AuditEntry.Action.ERASURE},
                  {"object_id": 0}, {"object_type": "user"}):
        assert refused(lambda extra=extra: qs.update(**redact(**extra))), extra
    assert row(entry) == before


def test_a_redacted_entry_never_changes_again(entry):
    qs = AuditEntry.objects.filter(pk=entry.pk)
    qs.update(**redact(field=""))
    redacted = row(entry)
    assert refused(lambda: qs.update(redacted=False))
    assert refused(lambda: qs.update(**redact(field="")))  # not even a second "redaction"
    assert refused(lambda: qs.delete())
    assert row(entry) == redacted


def test_deleting_a_user_is_refused_and_the_trail_keeps_them(entry, admin_user):
    """on_delete=SET_NULL is an UPDATE of the trail: staff are deactivated, never
    deleted (and the app and the admin offer no way to delete one)."""
    before = rows()
    assert refused(admin_user.delete)
    assert User.objects.filter(pk=admin_user.pk).exists()
    assert rows() == before


def test_the_admin_cannot_delete_a_user_nor_an_entry(entry, reception_user):
    root = User.objects.create_superuser("root", password="senha-de-teste-123")
    c = Client()
    c.force_login(root)
    assert c.post(f"/admin/auth/user/{reception_user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert c.post(f"/admin/registry/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    response = c.post(f"/admin/registry/auditentry/{entry.pk}/change/", {"new_value": "mudado"})
    assert response.status_code in (200, 403)  # read-only view at most
    assert User.objects.filter(pk=reception_user.pk).exists()
    entry.refresh_from_db()
    assert entry.new_value == "(11) 91234-5678"
    # no bulk "delete selected" either
    changelist = c.get("/admin/auth/user/")
    assert "delete_selected" not in changelist.content.decode()


def _drop_triggers():
    with connection.cursor() as cursor:  # what a table rebuild by a later migration leaves behind
        for name in audit_guard.SQLITE_TRIGGERS if connection.vendor == "sqlite" else audit_guard.PG_TRIGGERS:
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {audit_guard.TABLE}")


def test_a_migration_that_drops_the_triggers_gets_them_back(entry):
    """SQLite rebuilds a table to alter it, dropping its triggers silently;
    post_migrate (sent by every `migrate`) puts them back. (Inside the test's
    transaction: the DDL rolls back.)"""
    assert audit_guard.out_of_date(connection) == []
    _drop_triggers()
    assert audit_guard.out_of_date(connection)
    assert not refused(lambda: AuditEntry.objects.filter(pk=entry.pk).update(new_value="sem guarda"))
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert audit_guard.out_of_date(connection) == []
    assert refused(lambda: AuditEntry.objects.filter(pk=entry.pk).update(new_value="de novo"))
    assert refused(entry.delete)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL compares whole rows (to_jsonb)")
def test_a_column_added_later_is_guarded_too(entry):
    """A later migration adding a column: the UPDATE trigger is rebuilt to
    compare it as well, so the redaction cannot smuggle a change through it."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE registry_auditentry ADD COLUMN motivo text NOT NULL DEFAULT ''")
    assert audit_guard.out_of_date(connection) == [audit_guard.SQLITE_TRIGGERS[0]]
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert audit_guard.out_of_date(connection) == []
    sql = "UPDATE registry_auditentry SET redacted = 1, old_value = '', new_value = '', motivo = 'x' WHERE id = %s"
    assert refused(lambda: connection.cursor().execute(sql, [entry.pk]))
