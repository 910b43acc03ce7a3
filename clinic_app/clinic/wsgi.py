"""WSGI entry point: ``gunicorn clinic.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

application = get_wsgi_application()

# The photo deletion outbox is swept by a daemon thread in each app process
# (registry.outbox); CLINIC_OUTBOX_THREAD=0 turns it off (e.g. a separate timer).
if os.environ.get("CLINIC_OUTBOX_THREAD", "1") != "0":
    from registry import outbox

    outbox.start_background()
