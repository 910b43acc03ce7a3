"""URL paths other parts of the project depend on, defined once (no Django
imports: stacks/waf.py loads this file to scope its sign-in rate rule)."""

SIGN_IN_PATH = "/entrar/"  # the app's sign-in form (registry.urls "login")
ADMIN_PREFIX = "/admin/"   # the Django admin (clinic.urls)
ADMIN_SIGN_IN_PATH = ADMIN_PREFIX + "login/"
SIGN_IN_PATHS = (SIGN_IN_PATH, ADMIN_SIGN_IN_PATH)
