#!/usr/bin/env python
"""Django's command-line utility for the Sistema da Clínica."""

import os
import sys

from clinic import envvars


def main() -> None:
    os.environ.setdefault(envvars.SETTINGS_MODULE, "clinic.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
