"""`migrate`, once per release across every instance (mode ha).

Each new instance of a release runs the installer, and the installer migrates.
Under the advisory lock the first one applies the migrations and the others
wait, then find nothing left to apply. Migrations must stay compatible with
the release still running on the older instances (add first, remove in a
later release): the rolling update runs both for a while.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from registry.locks import exclusive

MIGRATE_LOCK = "migrate"


class Command(BaseCommand):
    help = "Run `migrate` under a database-wide lock: once per release across instances."

    def handle(self, *args, **options):
        with exclusive(MIGRATE_LOCK):
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
