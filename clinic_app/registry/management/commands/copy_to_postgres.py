"""Copy a clinic from SQLite (mode single) into PostgreSQL (mode ha), verified before it counts.

Run with the HA environment (DATABASE_URL, or CLINIC_DB_SECRET_ID, naming the
PostgreSQL database) and the path of the SQLite file:

    clinic-manage copy_to_postgres --sqlite /data/db/clinic.sqlite3

Every table of every installed app is copied (models are enumerated through
django.apps, so tables other releases add are included): users, groups and
their permissions, tutors, animals, photos' metadata (the objects stay in the
same bucket), the audit trail, sessions, and whatever the app holds next.
Primary keys are kept, so every reference and every S3 key stays valid.
The search index (FTS5 tables on SQLite, pg_trgm tables on PostgreSQL) is not
copied: it is derived data, rebuilt on PostgreSQL from the copied rows.

All of it happens in ONE PostgreSQL transaction: the target's tables are
emptied (refused if they already hold clinic data, unless --replace), the rows
are inserted as they are (no auto_now rewriting), the id sequences are reset,
and then every table's row count and checksum (SHA-256 over its rows in
primary-key order, read back through the ORM on both sides) is compared. Only
if every table matches is the transaction committed; otherwise nothing is
written and the command exits non-zero naming the tables that differ.
`--verify-only` compares again later (e.g. just before switching the stack).
docs/scaling.md, "Moving a clinic from single to ha", is the whole procedure.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connections, models, transaction
from django.db.migrations.executor import MigrationExecutor

from registry import audit_guard, search_index

SOURCE = "sqlite_source"
TARGET = "default"
BATCH = 2000
# Rows migrations themselves create on an empty database; everything else is clinic data.
_MIGRATION_SEEDED = {"contenttypes.contenttype", "auth.permission", "auth.group", "auth.group_permissions",
                     "registry.species", "registry.breed"}  # default species and breeds: migration 0007


class Mismatch(CommandError):
    pass


def copied_models() -> list[type[models.Model]]:
    """Every concrete table Django manages, auto-created many-to-many tables included."""
    found = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _normalise(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return "dt:" + value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return "d:" + value.isoformat()
    if isinstance(value, decimal.Decimal):
        return "dec:" + format(value.normalize(), "f")
    if isinstance(value, float):
        return "f:" + repr(value)
    if isinstance(value, (bytes, memoryview)):
        return "b:" + bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return "u:" + str(value)
    if isinstance(value, dt.timedelta):
        return "td:" + str(value.total_seconds())
    return value


def table_digest(model: type[models.Model], using: str) -> tuple[int, str]:
    """(row count, SHA-256 of every row's values in primary-key order) as Django reads them."""
    fields = [f.attname for f in model._meta.concrete_fields]
    digest = hashlib.sha256()
    count = 0
    rows = model._base_manager.using(using).order_by("pk").values_list(*fields)
    for row in rows.iterator(chunk_size=BATCH):
        digest.update(json.dumps([_normalise(v) for v in row], default=str, sort_keys=True).encode())
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def compare(models_: list[type[models.Model]]) -> list[tuple[str, int, int, str, str]]:
    """One line per table: label, source count, target count, source and target checksums."""
    lines = []
    for m in models_:
        n_src, sum_src = table_digest(m, SOURCE)
        n_dst, sum_dst = table_digest(m, TARGET)
        lines.append((m._meta.db_table, n_src, n_dst, sum_src, sum_dst))
    return lines


class Command(BaseCommand):
    help = "Copia o banco SQLite da clínica para o PostgreSQL (modo ha) e confere contagens e checksums."

    def add_arguments(self, parser):
        parser.add_argument("--sqlite", required=True, help="path of the SQLite database (e.g. /data/db/clinic.sqlite3)")
        parser.add_argument("--replace", action="store_true", help="empty a target that already holds clinic data")
        parser.add_argument("--verify-only", action="store_true", help="copy nothing; compare counts and checksums")

    def handle(self, *args, **options):
        path = Path(options["sqlite"])
        if not path.is_file():
            raise CommandError(f"SQLite database not found: {path}")
        target = connections[TARGET]
        if target.vendor != "postgresql":
            raise CommandError("the target (DATABASE_URL) is not PostgreSQL: run this with mode ha's environment")
        connections.settings[SOURCE] = {
            **connections.settings[TARGET],
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {},
            "TEST": {},
            "CONN_MAX_AGE": 0,
        }
        # The source must be at exactly the code's migrations, or columns differ.
        source_plan = MigrationExecutor(connections[SOURCE]).migration_plan(
            MigrationExecutor(connections[SOURCE]).loader.graph.leaf_nodes()
        )
        if source_plan:
            raise CommandError(
                f"the SQLite database is {len(source_plan)} migration(s) behind this release: run "
                "`migrate` on the single instance first (its installer does), then copy"
            )
        models_ = copied_models()
        if options["verify_only"]:
            self._report(compare(models_))
            return
        call_command("migrate_locked", verbosity=0)
        with transaction.atomic(using=SOURCE), transaction.atomic(using=TARGET):
            self._refuse_clinic_data(models_, options["replace"])
            # The audit trail is append-only (registry.audit_guard): its triggers refuse
            # the flush (TRUNCATE). The copy replaces the whole database with the
            # single instance's, trail included, so the guard is lifted for the flush
            # and put back before the copy commits (PostgreSQL DDL is transactional:
            # a failure anywhere leaves the guard as it was).
            audit_guard.drop(target)
            with target.cursor() as cursor:
                tables = [m._meta.db_table for m in models_]
                for sql in target.ops.sql_flush(no_style(), tables, reset_sequences=False, allow_cascade=True):
                    cursor.execute(sql)
                for model in models_:
                    self._copy(model, cursor)
                for sql in target.ops.sequence_reset_sql(no_style(), models_):
                    cursor.execute(sql)
            audit_guard.create(target)
            # The search index (registry.search_index) is not a model: its rows are
            # written by triggers, which saw animals before their tutors (tables are
            # copied in label order) and, with --replace, stale documents survive the
            # flush. Rebuild it from the copied rows, in this same transaction.
            search_index.rebuild(target)
            # Verified inside the transaction: a mismatch rolls everything back.
            self._report(compare(models_))
        self.stdout.write(self.style.SUCCESS(f"copied and verified {len(models_)} tables; the target is committed"))

    def _refuse_clinic_data(self, models_, replace: bool) -> None:
        busy = [
            m._meta.label_lower
            for m in models_
            if m._meta.label_lower not in _MIGRATION_SEEDED and m._base_manager.using(TARGET).exists()
        ]
        if busy and not replace:
            raise CommandError(
                f"the PostgreSQL database already holds clinic data ({', '.join(busy[:5])}): nothing was "
                "changed; give --replace to overwrite it with the SQLite copy"
            )
        # --replace redoes a copy; it never erases audit entries the SQLite file
        # does not have (a PostgreSQL database that has already served the clinic).
        from registry.models import AuditEntry

        def newest(alias):
            return AuditEntry.objects.using(alias).order_by("-timestamp").values_list("timestamp", flat=True).first()

        theirs, ours = newest(TARGET), newest(SOURCE)
        if theirs is not None and (ours is None or theirs > ours):
            raise CommandError(
                "the PostgreSQL audit trail has entries newer than the SQLite copy's (the ha database has "
                "served the clinic since): nothing was changed; the trail is append-only and --replace would "
                "erase them"
            )

    def _copy(self, model, cursor) -> None:
        target = connections[TARGET]
        fields = list(model._meta.concrete_fields)
        quote = target.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(model._meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )
        rows = model._base_manager.using(SOURCE).order_by("pk").values_list(*[f.attname for f in fields])
        batch = []
        for row in rows.iterator(chunk_size=BATCH):
            # The field's own conversion for PostgreSQL, without pre_save (auto_now
            # would otherwise rewrite every timestamp to now).
            batch.append([f.get_db_prep_save(v, connection=target) for f, v in zip(fields, row, strict=True)])
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)

    def _report(self, lines) -> None:
        bad = []
        for table, n_src, n_dst, sum_src, sum_dst in lines:
            ok = n_src == n_dst and sum_src == sum_dst
            self.stdout.write(f"{'OK  ' if ok else 'DIFF'} {table:<40} {n_src:>8} {n_dst:>8} {sum_src[:12]} {sum_dst[:12]}")
            if not ok:
                bad.append(table)
        if bad:
            raise Mismatch(f"counts or checksums differ for {', '.join(bad)}: the PostgreSQL copy was not committed")
