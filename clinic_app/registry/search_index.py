"""The full-text search index: its tables, the triggers that keep it in sync,
and the checks that the database engine can hold it.

Two documents, one row each, written only by database triggers (so every
write path keeps them in sync: forms, admin, ``QuerySet.update()``,
``bulk_create()``, raw SQL, deletes):

* ``registry_animal_fts`` / ``registry_animal_search``: one row per animal
  (id = animal id): the animal's name, its tutor's name, and ``ident``
  (microchip, tutor CPF, phones, e-mail).
* ``registry_tutor_fts`` / ``registry_tutor_search``: one row per tutor
  (id = tutor id): the tutor's name, the names of their animals, ``ident``.

Names are stored folded (lower case, no accents, single spaces), the same
fold as ``validators.fold`` on the query side.

SQLite: FTS5 virtual tables with the ``trigram`` tokenizer (substring match
on any 3+ characters, ranked by bm25). The trigram tokenizer's own
``remove_diacritics`` option needs SQLite >= 3.45, newer than the 3.40 linked
by Debian 12's and Amazon Linux 2023's Python, so the fold is done by a SQL
function ``clinic_fold`` that the app registers on every connection
(``apps.RegistryConfig.ready``). A write from a client without it (the
sqlite3 shell) fails loudly with "no such function: clinic_fold" instead of
leaving the index stale.

PostgreSQL: plain tables with a ``pg_trgm`` GIN index on ``doc`` (name, tutor
and ident in one column) and PL/pgSQL triggers folding with ``unaccent``.
"""

from __future__ import annotations

from .sql import run as run_sql
from .validators import fold

FOLD_FUNCTION = "clinic_fold"
ANIMAL_DOC = "registry_animal_fts"
TUTOR_DOC = "registry_tutor_fts"
PG_ANIMAL_DOC = "registry_animal_search"
PG_TUTOR_DOC = "registry_tutor_search"
PG_EXTENSIONS = ("pg_trgm", "unaccent")


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """connection_created receiver: the fold used by the index triggers."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)


# --- SQLite -----------------------------------------------------------------

def _sqlite_tutor_ident(t: str) -> str:
    return f"coalesce({t}.cpf, '') || ' ' || {t}.phone || ' ' || {t}.phone_secondary || ' ' || lower({t}.email)"


def _sqlite_refresh_tutor(tutor_id: str) -> str:
    return f"""
    DELETE FROM {TUTOR_DOC} WHERE rowid = {tutor_id};
    INSERT INTO {TUTOR_DOC}(rowid, name, animals, ident)
      SELECT t.id, {FOLD_FUNCTION}(t.name),
             coalesce((SELECT group_concat({FOLD_FUNCTION}(a.name), ' ') FROM registry_animal a
                       WHERE a.tutor_id = t.id), ''),
             {_sqlite_tutor_ident('t')}
      FROM registry_tutor t WHERE t.id = {tutor_id};"""


def _sqlite_insert_animals(where: str) -> str:
    return f"""
    INSERT INTO {ANIMAL_DOC}(rowid, name, tutor, ident)
      SELECT a.id, {FOLD_FUNCTION}(a.name), {FOLD_FUNCTION}(t.name),
             lower(coalesce(a.microchip, '')) || ' ' || {_sqlite_tutor_ident('t')}
      FROM registry_animal a JOIN registry_tutor t ON t.id = a.tutor_id WHERE {where};"""


SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {ANIMAL_DOC} USING fts5(name, tutor, ident, tokenize='trigram')",
    f"CREATE VIRTUAL TABLE {TUTOR_DOC} USING fts5(name, animals, ident, tokenize='trigram')",
    f"""CREATE TRIGGER registry_animal_fts_ai AFTER INSERT ON registry_animal BEGIN
    {_sqlite_insert_animals('a.id = new.id')}
    {_sqlite_refresh_tutor('new.tutor_id')}
    END""",
    f"""CREATE TRIGGER registry_animal_fts_au AFTER UPDATE OF name, microchip, tutor_id ON registry_animal BEGIN
    DELETE FROM {ANIMAL_DOC} WHERE rowid = old.id;
    {_sqlite_insert_animals('a.id = new.id')}
    {_sqlite_refresh_tutor('old.tutor_id')}
    {_sqlite_refresh_tutor('new.tutor_id')}
    END""",
    f"""CREATE TRIGGER registry_animal_fts_ad AFTER DELETE ON registry_animal BEGIN
    DELETE FROM {ANIMAL_DOC} WHERE rowid = old.id;
    {_sqlite_refresh_tutor('old.tutor_id')}
    END""",
    f"""CREATE TRIGGER registry_tutor_fts_ai AFTER INSERT ON registry_tutor BEGIN
    {_sqlite_refresh_tutor('new.id')}
    END""",
    f"""CREATE TRIGGER registry_tutor_fts_au
    AFTER UPDATE OF name, cpf, phone, phone_secondary, email ON registry_tutor BEGIN
    {_sqlite_refresh_tutor('new.id')}
    DELETE FROM {ANIMAL_DOC} WHERE rowid IN (SELECT id FROM registry_animal WHERE tutor_id = new.id);
    {_sqlite_insert_animals('a.tutor_id = new.id')}
    END""",
    f"""CREATE TRIGGER registry_tutor_fts_ad AFTER DELETE ON registry_tutor BEGIN
    DELETE FROM {TUTOR_DOC} WHERE rowid = old.id;
    END""",
]

SQLITE_REBUILD = [
    f"DELETE FROM {ANIMAL_DOC}",
    f"DELETE FROM {TUTOR_DOC}",
    _sqlite_insert_animals("1"),
    f"""INSERT INTO {TUTOR_DOC}(rowid, name, animals, ident)
      SELECT t.id, {FOLD_FUNCTION}(t.name), coalesce(g.names, ''), {_sqlite_tutor_ident('t')}
      FROM registry_tutor t LEFT JOIN (SELECT tutor_id, group_concat({FOLD_FUNCTION}(name), ' ') AS names
                                       FROM registry_animal GROUP BY tutor_id) g ON g.tutor_id = t.id""",
    f"INSERT INTO {ANIMAL_DOC}({ANIMAL_DOC}) VALUES ('optimize')",
    f"INSERT INTO {TUTOR_DOC}({TUTOR_DOC}) VALUES ('optimize')",
]

SQLITE_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in (
        "registry_animal_fts_ai", "registry_animal_fts_au", "registry_animal_fts_ad",
        "registry_tutor_fts_ai", "registry_tutor_fts_au", "registry_tutor_fts_ad")),
    f"DROP TABLE IF EXISTS {ANIMAL_DOC}",
    f"DROP TABLE IF EXISTS {TUTOR_DOC}",
]


# --- PostgreSQL ---------------------------------------------------------------

PG_FOLD = "registry_fold"

PG_CREATE = [
    *(f"CREATE EXTENSION IF NOT EXISTS {ext}" for ext in PG_EXTENSIONS),
    # unaccent() is STABLE (it reads a dictionary); the wrapper names the dictionary explicitly.
    f"""CREATE OR REPLACE FUNCTION {PG_FOLD}(value text) RETURNS text LANGUAGE sql STABLE AS $$
      SELECT regexp_replace(btrim(lower(unaccent('unaccent'::regdictionary, coalesce(value, '')))), '\\s+', ' ', 'g')
    $$""",
    f"""CREATE TABLE {PG_ANIMAL_DOC} (id bigint PRIMARY KEY, name text NOT NULL, tutor text NOT NULL,
      ident text NOT NULL, doc text NOT NULL)""",
    f"""CREATE TABLE {PG_TUTOR_DOC} (id bigint PRIMARY KEY, name text NOT NULL, animals text NOT NULL,
      ident text NOT NULL, doc text NOT NULL)""",
    f"CREATE INDEX registry_animal_search_trgm ON {PG_ANIMAL_DOC} USING gin (doc gin_trgm_ops)",
    f"CREATE INDEX registry_tutor_search_trgm ON {PG_TUTOR_DOC} USING gin (doc gin_trgm_ops)",
    f"""CREATE OR REPLACE FUNCTION registry_search_refresh_tutor(tid bigint) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM {PG_TUTOR_DOC} WHERE id = tid;
      INSERT INTO {PG_TUTOR_DOC}(id, name, animals, ident, doc)
        SELECT x.id, x.name, x.animals, x.ident, x.name || ' ' || x.animals || ' ' || x.ident FROM (
          SELECT t.id, {PG_FOLD}(t.name) AS name,
                 coalesce((SELECT string_agg({PG_FOLD}(a.name), ' ') FROM registry_animal a
                           WHERE a.tutor_id = t.id), '') AS animals,
                 coalesce(t.cpf, '') || ' ' || t.phone || ' ' || t.phone_secondary || ' ' || lower(t.email) AS ident
          FROM registry_tutor t WHERE t.id = tid) x;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION registry_search_refresh_animals(tid bigint, aid bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      -- one animal (aid) or all of a tutor's (tid): separate statements so each uses its index
      IF aid IS NOT NULL THEN
        DELETE FROM {PG_ANIMAL_DOC} WHERE id = aid;
      END IF;
      IF tid IS NOT NULL THEN
        DELETE FROM {PG_ANIMAL_DOC} WHERE id IN (SELECT id FROM registry_animal WHERE tutor_id = tid);
      END IF;
      INSERT INTO {PG_ANIMAL_DOC}(id, name, tutor, ident, doc)
        SELECT x.id, x.name, x.tutor, x.ident, x.name || ' ' || x.tutor || ' ' || x.ident FROM (
          SELECT a.id, {PG_FOLD}(a.name) AS name, {PG_FOLD}(t.name) AS tutor,
                 lower(coalesce(a.microchip, '')) || ' ' || coalesce(t.cpf, '') || ' ' || t.phone || ' '
                   || t.phone_secondary || ' ' || lower(t.email) AS ident
          FROM registry_animal a JOIN registry_tutor t ON t.id = a.tutor_id
          WHERE a.id = aid
          UNION ALL
          SELECT a.id, {PG_FOLD}(a.name), {PG_FOLD}(t.name),
                 lower(coalesce(a.microchip, '')) || ' ' || coalesce(t.cpf, '') || ' ' || t.phone || ' '
                   || t.phone_secondary || ' ' || lower(t.email)
          FROM registry_animal a JOIN registry_tutor t ON t.id = a.tutor_id
          WHERE a.tutor_id = tid AND (aid IS NULL OR a.id <> aid)) x;
    END $$""",
    """CREATE OR REPLACE FUNCTION registry_animal_search_trg() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM registry_animal_search WHERE id = OLD.id;
        PERFORM registry_search_refresh_tutor(OLD.tutor_id);
        RETURN NULL;
      END IF;
      PERFORM registry_search_refresh_animals(NULL, NEW.id);
      PERFORM registry_search_refresh_tutor(NEW.tutor_id);
      IF TG_OP = 'UPDATE' AND OLD.tutor_id <> NEW.tutor_id THEN
        PERFORM registry_search_refresh_tutor(OLD.tutor_id);
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION registry_tutor_search_trg() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM registry_tutor_search WHERE id = OLD.id;
        RETURN NULL;
      END IF;
      PERFORM registry_search_refresh_tutor(NEW.id);
      IF TG_OP = 'UPDATE' THEN
        PERFORM registry_search_refresh_animals(NEW.id, NULL);
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER registry_animal_search_ai AFTER INSERT OR DELETE ON registry_animal
       FOR EACH ROW EXECUTE FUNCTION registry_animal_search_trg()""",
    """CREATE TRIGGER registry_animal_search_au AFTER UPDATE OF name, microchip, tutor_id ON registry_animal
       FOR EACH ROW EXECUTE FUNCTION registry_animal_search_trg()""",
    """CREATE TRIGGER registry_tutor_search_ai AFTER INSERT OR DELETE ON registry_tutor
       FOR EACH ROW EXECUTE FUNCTION registry_tutor_search_trg()""",
    """CREATE TRIGGER registry_tutor_search_au AFTER UPDATE OF name, cpf, phone, phone_secondary, email
       ON registry_tutor FOR EACH ROW EXECUTE FUNCTION registry_tutor_search_trg()""",
]

PG_REBUILD = [
    f"TRUNCATE {PG_ANIMAL_DOC}, {PG_TUTOR_DOC}",
    f"""INSERT INTO {PG_ANIMAL_DOC}(id, name, tutor, ident, doc)
      SELECT x.id, x.name, x.tutor, x.ident, x.name || ' ' || x.tutor || ' ' || x.ident FROM (
        SELECT a.id, {PG_FOLD}(a.name) AS name, {PG_FOLD}(t.name) AS tutor,
               lower(coalesce(a.microchip, '')) || ' ' || coalesce(t.cpf, '') || ' ' || t.phone || ' '
                 || t.phone_secondary || ' ' || lower(t.email) AS ident
        FROM registry_animal a JOIN registry_tutor t ON t.id = a.tutor_id) x""",
    f"""INSERT INTO {PG_TUTOR_DOC}(id, name, animals, ident, doc)
      SELECT x.id, x.name, x.animals, x.ident, x.name || ' ' || x.animals || ' ' || x.ident FROM (
        SELECT t.id, {PG_FOLD}(t.name) AS name, coalesce(g.names, '') AS animals,
               coalesce(t.cpf, '') || ' ' || t.phone || ' ' || t.phone_secondary || ' ' || lower(t.email) AS ident
        FROM registry_tutor t LEFT JOIN (SELECT tutor_id, string_agg({PG_FOLD}(name), ' ') AS names
                                         FROM registry_animal GROUP BY tutor_id) g ON g.tutor_id = t.id) x""",
    f"ANALYZE {PG_ANIMAL_DOC}",
    f"ANALYZE {PG_TUTOR_DOC}",
]

PG_DROP = [
    "DROP TRIGGER IF EXISTS registry_animal_search_ai ON registry_animal",
    "DROP TRIGGER IF EXISTS registry_animal_search_au ON registry_animal",
    "DROP TRIGGER IF EXISTS registry_tutor_search_ai ON registry_tutor",
    "DROP TRIGGER IF EXISTS registry_tutor_search_au ON registry_tutor",
    "DROP FUNCTION IF EXISTS registry_animal_search_trg()",
    "DROP FUNCTION IF EXISTS registry_tutor_search_trg()",
    "DROP FUNCTION IF EXISTS registry_search_refresh_animals(bigint, bigint)",
    "DROP FUNCTION IF EXISTS registry_search_refresh_tutor(bigint)",
    f"DROP TABLE IF EXISTS {PG_ANIMAL_DOC}",
    f"DROP TABLE IF EXISTS {PG_TUTOR_DOC}",
    f"DROP FUNCTION IF EXISTS {PG_FOLD}(text)",
]


def create(connection) -> None:
    if connection.vendor == "sqlite":
        run_sql(connection, SQLITE_CREATE)
    elif connection.vendor == "postgresql":
        run_sql(connection, PG_CREATE)
    else:
        raise RuntimeError(f"search index: unsupported database {connection.vendor}")
    rebuild(connection)


def rebuild(connection) -> None:
    """Rebuild both documents from the tables (migration, `manage.py search_index --rebuild`)."""
    run_sql(connection, SQLITE_REBUILD if connection.vendor == "sqlite" else PG_REBUILD)


def drop(connection) -> None:
    run_sql(connection, SQLITE_DROP if connection.vendor == "sqlite" else PG_DROP)


# --- after every migrate: the triggers are still there -------------------------

SQLITE_TRIGGERS = ("registry_animal_fts_ai", "registry_animal_fts_au", "registry_animal_fts_ad",
                   "registry_tutor_fts_ai", "registry_tutor_fts_au", "registry_tutor_fts_ad")
PG_TRIGGERS = ("registry_animal_search_ai", "registry_animal_search_au",
               "registry_tutor_search_ai", "registry_tutor_search_au")
SEARCH_MIGRATION = ("registry", "0005_search_fts")


def missing_triggers(connection) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = SQLITE_TRIGGERS
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            expected = PG_TRIGGERS
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: a later migration that alters registry_animal or
    registry_tutor makes SQLite rebuild the table, which drops its triggers
    silently (and the index would go stale). Once the search migration is
    applied, put back whatever trigger is missing and rebuild the documents."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    if SEARCH_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    if missing_triggers(connection):
        drop(connection)
        create(connection)  # create() rebuilds the documents from the tables


# --- capability checks (used by checks.py) -------------------------------------

def missing_capability(connection) -> str | None:
    """None when the engine can hold the index, else a pt-free English reason for operators."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            try:
                cursor.execute("CREATE VIRTUAL TABLE temp.registry_fts_probe USING fts5(x, tokenize='trigram')")
                cursor.execute("DROP TABLE temp.registry_fts_probe")
            except Exception as exc:  # sqlite3.OperationalError: no such module / tokenizer
                import sqlite3

                return (f"SQLite {sqlite3.sqlite_version} lacks FTS5 with the trigram tokenizer "
                        f"(needs SQLite >= 3.34 built with FTS5): {exc}")
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", [list(PG_EXTENSIONS)])
            available = {row[0] for row in cursor.fetchall()}
        missing = [ext for ext in PG_EXTENSIONS if ext not in available]
        if missing:
            return ("PostgreSQL lacks the extension(s) " + ", ".join(missing)
                    + " (Debian: postgresql-contrib; Amazon RDS: must be listed by SHOW rds.extensions)")
        return None
    return f"search needs SQLite (FTS5) or PostgreSQL (pg_trgm, unaccent), not {connection.vendor}"
