"""WSGI entry point: ``gunicorn clinic.wsgi:application``."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from clinic import envvars

os.environ.setdefault(envvars.SETTINGS_MODULE, "clinic.settings")

application = get_wsgi_application()

# The photo deletion outbox is swept by a daemon thread in each app process
# (registry.outbox); settings.OUTBOX_THREAD (envvars.OUTBOX_THREAD, a strict
# boolean) turns it off, e.g. for a separate timer.
if settings.OUTBOX_THREAD:
    from registry import outbox

    outbox.start_background()
