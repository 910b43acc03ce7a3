"""Raw SQL scripts the app installs itself (the search index's and the audit
guard's triggers): run a list of statements on one connection."""

from __future__ import annotations


def run(connection, statements) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
