"""System checks: the database must be able to hold the search index.

Tagged ``database`` so they run where Django runs database checks: ``migrate``
(before any migration is applied: the install stops with this message instead
of a half-migrated database) and ``check --database default``.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, register
from django.db import connections

from . import search_index


@register(Tags.database)
def search_engine_check(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or ():
        reason = search_index.missing_capability(connections[alias])
        if reason:
            errors.append(Error(f"Database '{alias}' cannot hold the search index: {reason}",
                                hint="See README.md, 'Search'.", id="registry.E001"))
    return errors
