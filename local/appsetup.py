"""Prepare the app with its own management commands, in one Django process:
migrate, create_first_admin, and (only into an empty database) seed_demo.

Run as ``python -m local.appsetup [--seed N]`` with the app's environment and
LOCAL_ADMIN_PASSWORD_FILE pointing at the demo password file.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    from clinic import envvars

    os.environ.setdefault(envvars.SETTINGS_MODULE, "clinic.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("create_first_admin", password_file=os.environ["LOCAL_ADMIN_PASSWORD_FILE"])
    if args.seed > 0:
        from registry.models import Animal

        if Animal.objects.exists():
            print("demo data: the database already has animals; not seeding again")
        else:
            call_command("seed_demo", animals=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
