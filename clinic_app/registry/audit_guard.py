"""The audit trail is append-only, enforced by the database itself.

Triggers on ``registry_auditentry`` refuse every UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE), whoever sends it: the app, the Django admin, a bulk
``QuerySet.update()``/``delete()``, raw SQL from a shell, or Django's own
``on_delete=SET_NULL`` emulation when a user is deleted (an UPDATE).

The one change allowed is the LGPD redaction an erasure makes (issue 16):
``redacted`` goes from false to true, ``old_value`` and ``new_value`` become
'', ``field`` stays or becomes '', and every other column is unchanged. A
redacted entry can never change again.

SQLite: BEFORE UPDATE / BEFORE DELETE triggers with ``RAISE(ABORT, ...)``. The
UPDATE trigger names every column of the table (read from the table, not the
model), so a later migration that adds a column gets it compared too: after
every ``migrate`` (post_migrate, ``ensure_after_migrate``) the installed
triggers are compared with what the table now needs and put back when a
table rebuild dropped them or a column was added.

PostgreSQL: one PL/pgSQL trigger function raising an exception; the row
comparison is column-agnostic (``to_jsonb(NEW) - <redactable keys>``).
"""

from __future__ import annotations

from .sql import run as run_sql

TABLE = "registry_auditentry"
MIGRATION = ("registry", "0009_audit_append_only")
MESSAGE = "registry_auditentry is append-only: only an LGPD redaction may change an entry"
# columns the redaction may change; every other column must stay as it was
REDACTABLE = ("redacted", "old_value", "new_value", "field")

SQLITE_TRIGGERS = ("registry_auditentry_no_update", "registry_auditentry_no_delete")
PG_TRIGGERS = ("registry_auditentry_append_only", "registry_auditentry_no_truncate")
PG_FUNCTION = "registry_auditentry_guard"


def _columns(connection) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, TABLE)]


def _sqlite_create(columns) -> list[str]:
    unchanged = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in columns if c not in REDACTABLE)
    return [
        f"""CREATE TRIGGER {SQLITE_TRIGGERS[0]} BEFORE UPDATE ON {TABLE}
    WHEN NOT (OLD.redacted = 0 AND NEW.redacted = 1 AND NEW.old_value = '' AND NEW.new_value = ''
              AND (NEW.field = OLD.field OR NEW.field = '') AND {unchanged})
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER {SQLITE_TRIGGERS[1]} BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    ]


_REDACTABLE_KEYS = " - ".join(f"'{c}'" for c in REDACTABLE)

PG_CREATE = [
    f"""CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE'
         AND OLD.redacted IS FALSE AND NEW.redacted IS TRUE
         AND NEW.old_value = '' AND NEW.new_value = ''
         AND (NEW.field = OLD.field OR NEW.field = '')
         AND (to_jsonb(NEW) - {_REDACTABLE_KEYS}) = (to_jsonb(OLD) - {_REDACTABLE_KEYS}) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    f"""CREATE TRIGGER {PG_TRIGGERS[0]} BEFORE UPDATE OR DELETE ON {TABLE}
       FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""",
    f"""CREATE TRIGGER {PG_TRIGGERS[1]} BEFORE TRUNCATE ON {TABLE}
       FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()""",
]

PG_DROP = [
    f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[0]} ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {PG_TRIGGERS[1]} ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


def create(connection) -> None:
    if connection.vendor == "sqlite":
        run_sql(connection, _sqlite_create(_columns(connection)))
    elif connection.vendor == "postgresql":
        run_sql(connection, PG_CREATE)
    else:
        raise RuntimeError(f"audit trail guard: unsupported database {connection.vendor}")


def drop(connection) -> None:
    run_sql(connection, SQLITE_DROP if connection.vendor == "sqlite" else PG_DROP)


def _normalise(sql: str) -> str:
    return " ".join(sql.split())


def out_of_date(connection) -> list[str]:
    """Triggers missing (a table rebuild drops them on SQLite) or, on SQLite,
    not comparing every column the table has now."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
            present = {name: _normalise(sql) for name, sql in cursor.fetchall()}
            expected = dict(zip(SQLITE_TRIGGERS, (_normalise(s) for s in _sqlite_create(_columns(connection))),
                                strict=True))
            return [name for name, sql in expected.items() if present.get(name) != sql]
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [TABLE])
        present = {row[0] for row in cursor.fetchall()}
        return [name for name in PG_TRIGGERS if name not in present]


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: once the guard's migration is applied, put back any guard
    trigger a later migration dropped (SQLite rebuilds a table to alter it) or
    left comparing an outdated column list."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    if MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    if out_of_date(connection):
        drop(connection)
        create(connection)
