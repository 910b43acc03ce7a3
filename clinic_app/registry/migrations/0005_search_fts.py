"""The full-text search index (registry.search_index): FTS5 trigram tables on
SQLite, pg_trgm + unaccent on PostgreSQL, kept in sync by triggers."""

from django.db import migrations


def create(apps, schema_editor):
    from registry import search_index

    search_index.create(schema_editor.connection)


def drop(apps, schema_editor):
    from registry import search_index

    search_index.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0004_integrity_and_signin"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
