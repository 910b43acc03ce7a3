"""THE access table: who may use which view of the app and of its admin.

One entry per URL pattern, keyed by URL name (``namespace:name``; an unnamed
pattern is keyed by ``namespace:`` + its full route). tests/app/test_access_matrix.py
walks the URL map and fails on any view missing here, and checks every entry
against real requests for every subject and for GET and POST.

Reading an entry: ``allowed`` maps a method to the subjects who get through;
a signed-in subject outside the set gets ``refused`` (403 unless said
otherwise). A method a view does not serve is answered 405 to the subjects who
pass its permission gate (the union of the sets) and ``refused`` to the rest.
Admin entries (``admin=True``) send every signed-in user who is not an active
superuser to the admin's own sign-in page: the Django admin is for superusers
(the platform's operators) only; the clinic's Administração works in the app's
own pages (staff, audit trail).

This table is the declared policy, written by hand: do NOT derive it from
registry/roles.py (the test would then check the code against itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from registry.models import Animal, Breed, Species, Tutor
from registry.roles import ADMIN, RECEPTION, VET

# outcomes (test_access_matrix.classify maps a response to one of these)
OK = "ok"                      # served: 2xx, 400 with a message, or a redirect that is not a sign-in page
DENIED = "403"
LOGIN = "sign-in redirect"     # 302 to the app's sign-in page with ?next=
API_LOGIN = "401 json"         # JSON endpoints: 401 {"error": ...}
ADMIN_LOGIN = "admin sign-in"  # 302 to /admin/login/?next=
NOT_FOUND = "404"
NOT_ALLOWED = "405"

# subjects
ANONYMOUS = "anônimo"
NO_ROLE = "sem papel"               # signed in, no group
STAFF_NO_ROLE = "equipe sem papel"  # is_staff but no group: the flag alone opens nothing
SUPERUSER = "superusuário"          # the platform's operator (create_first_admin): every permission
SUBJECTS = (ANONYMOUS, NO_ROLE, STAFF_NO_ROLE, RECEPTION, VET, ADMIN, SUPERUSER)
ADMIN_SITE = frozenset({SUPERUSER})  # who passes the Django admin's own gate
SUPERUSERS = ADMIN_SITE
STAFF = ADMIN_SITE  # the old name of the admin's gate (is_staff alone opens nothing since issue 16)
SIGNED_IN = frozenset(SUBJECTS) - {ANONYMOUS}
EVERYONE = frozenset(SUBJECTS)
STAFF_ROLES = frozenset({RECEPTION, VET, ADMIN, SUPERUSER})  # the three clinic roles (and the operator)
ADMINISTRATION = frozenset({ADMIN, SUPERUSER})
NOBODY = frozenset()


@dataclass(frozen=True)
class Door:
    allowed: dict[str, frozenset]
    anonymous: str = LOGIN
    refused: str = DENIED
    admin: bool = False
    obj: type | None = None  # model whose pk fills <pk>
    gate: frozenset | None = None  # who reaches the view's method check (default: the union of `allowed`)
    overrides: tuple = ()  # ((subject, method, outcome), ...) for the odd case, each with a reason

    def expect(self, subject: str, method: str) -> str:
        for who, how, outcome in self.overrides:
            if (who, how) == (subject, method):
                return outcome
        public = any(ANONYMOUS in who for who in self.allowed.values())
        if subject == ANONYMOUS and not public:
            return self.anonymous
        if self.admin and subject not in ADMIN_SITE:
            return ADMIN_LOGIN
        if method in self.allowed:
            return OK if subject in self.allowed[method] else self.refused
        gate = frozenset().union(*self.allowed.values()) if self.gate is None else self.gate
        return NOT_ALLOWED if subject in gate else self.refused


def get(who, **kw) -> Door:
    return Door({"GET": frozenset(who)}, **kw)


def post(who, **kw) -> Door:
    return Door({"POST": frozenset(who)}, **kw)


def form(who, **kw) -> Door:
    """A page with a form: GET shows it, POST saves it; same gate."""
    return Door({"GET": frozenset(who), "POST": frozenset(who)}, **kw)


ACCESS: dict[str, Door] = {
    # --- public ---------------------------------------------------------------
    "healthz": get(EVERYONE),
    "login": form(EVERYONE),
    # --- signed-in pages ------------------------------------------------------
    "home": form(SIGNED_IN),  # redirect to animal_list, which has its own gate
    "logout": post(SIGNED_IN, refused=NOT_ALLOWED),
    "animal_list": get(STAFF_ROLES),
    "animal_export": get(ADMINISTRATION),
    "animal_create": form(STAFF_ROLES),
    "animal_detail": get(STAFF_ROLES, obj=Animal),
    "animal_edit": form(STAFF_ROLES, obj=Animal),
    "animal_card": get(STAFF_ROLES, obj=Animal),
    "animal_archive": form(ADMINISTRATION, obj=Animal),
    "animal_reactivate": form(ADMINISTRATION, obj=Animal),
    "tutor_list": get(STAFF_ROLES),
    "tutor_create": form(STAFF_ROLES),
    "tutor_detail": get(STAFF_ROLES, obj=Tutor),
    "tutor_edit": form(STAFF_ROLES, obj=Tutor),
    # merging two records of the same tutor / animal (registry.views_merge)
    "tutor_merge": form(ADMINISTRATION, obj=Tutor),
    "animal_merge": form(ADMINISTRATION, obj=Animal),
    # species and breed suggestions (registry.views_species)
    "species_list": get(ADMINISTRATION),
    "species_create": form(ADMINISTRATION),
    "species_edit": form(ADMINISTRATION, obj=Species),
    "breed_create": post(ADMINISTRATION, obj=Species),
    "breed_delete": post(ADMINISTRATION, obj=Breed),
    # LGPD (issue 16): every role records a tutor's consent at the desk; the data
    # report and the anonymisation are Administração's
    "tutor_consent": post(STAFF_ROLES, obj=Tutor),
    "tutor_data_report": get(ADMINISTRATION, obj=Tutor),
    "tutor_data_report_json": get(ADMINISTRATION, obj=Tutor),
    "tutor_erase": form(ADMINISTRATION, obj=Tutor),
    "photo_set_primary": post(STAFF_ROLES),
    "photo_delete": post(STAFF_ROLES),
    # everyone's own password (where a reset sends the person until done)
    "password_change": form(SIGNED_IN),
    # --- Administração in the app (issue 16): staff accounts and the audit trail --
    # auth.view_user / add_user / change_user; registry.view_audit_trail. The
    # reception and the vets keep the short history on a record's page
    # (registry.view_auditentry) but not the whole trail.
    "staff_list": get(ADMINISTRATION),
    "staff_create": form(ADMINISTRATION),
    "staff_edit": form(ADMINISTRATION, obj=User),
    "staff_deactivate": form(ADMINISTRATION, obj=User),
    "staff_reactivate": form(ADMINISTRATION, obj=User),
    "staff_password": form(ADMINISTRATION, obj=User),
    "staff_unlock": post(ADMINISTRATION, obj=User),
    "audit_list": get(ADMINISTRATION),
    # --- JSON API (401 to anonymous) -------------------------------------------
    "photo_presign": post(STAFF_ROLES, anonymous=API_LOGIN, obj=Animal),
    "photo_confirm": post(STAFF_ROLES, anonymous=API_LOGIN, obj=Animal),
    "photo_status": get(STAFF_ROLES, anonymous=API_LOGIN),
}

# Django serves static files itself only when settings.SERVE_STATIC is on
# (make local); then the pattern exists and is public.
STATIC = r"^static/(?P<path>.*)$"
CONDITIONAL = {STATIC}
ACCESS[STATIC] = Door({"GET": EVERYONE, "POST": EVERYONE})


# --- the Django admin -----------------------------------------------------------

def _admin(**kw) -> Door:
    return Door(admin=True, **kw)


def _site(**kw) -> Door:
    """AdminSite's own pages handle anonymous users themselves (admin sign-in page)."""
    return _admin(anonymous=ADMIN_LOGIN, **kw)


ACCESS.update({
    "admin:index": _site(allowed={"GET": ADMIN_SITE, "POST": ADMIN_SITE}),
    "admin:login": Door({"GET": EVERYONE, "POST": EVERYONE}),
    # POST signs a superuser out; any other signed-in user is sent to the
    # admin index (a redirect, nothing happens) whatever the method
    "admin:logout": _site(allowed={"POST": ADMIN_SITE}, overrides=tuple(
        (who, how, OK) for who in SIGNED_IN - ADMIN_SITE for how in ("GET", "POST"))),
    "admin:password_change": _site(allowed={"GET": ADMIN_SITE, "POST": ADMIN_SITE}),
    "admin:password_change_done": _site(allowed={"GET": ADMIN_SITE}),
    # no ModelAdmin declares autocomplete_fields: the endpoint refuses everyone
    "admin:autocomplete": _site(allowed={"GET": NOBODY}, gate=ADMIN_SITE),
    "admin:jsi18n": _site(allowed={"GET": ADMIN_SITE}),
    # no model has get_absolute_url: "view on site" leads nowhere
    "admin:view_on_site": _site(allowed={"GET": NOBODY, "POST": NOBODY}, refused=NOT_FOUND),
    # an app's index lists only what the user may see; with nothing, it does not exist
    "admin:app_list": _site(allowed={"GET": SUPERUSERS, "POST": SUPERUSERS}, refused=NOT_FOUND),
    "admin:admin/(?P<url>.*)$": _site(allowed={"GET": NOBODY, "POST": NOBODY}, refused=NOT_FOUND),
})


def model_admin(app: str, model: str, *, view, add, change, delete, route_prefix: str | None = None) -> None:
    """Expand the declared rights on one model into its admin URLs.

    Django admin semantics: the list, the history and GET on the change form
    need view or change; POST on the change form needs change.
    """
    see = frozenset(view) | frozenset(change)
    base = f"admin:{app}_{model}_"
    ACCESS.update({
        base + "changelist": _admin(allowed={"GET": see, "POST": see}),
        base + "add": _admin(allowed={"GET": frozenset(add), "POST": frozenset(add)}),
        base + "change": _admin(allowed={"GET": see, "POST": frozenset(change)}),
        base + "delete": _admin(allowed={"GET": frozenset(delete), "POST": frozenset(delete)}),
        base + "history": _admin(allowed={"GET": see, "POST": see}),
        # /admin/<app>/<model>/<id>/ only redirects to the change form (which has its own gate)
        f"admin:admin/{app}/{model}/<path:object_id>/": _admin(allowed={"GET": ADMIN_SITE, "POST": ADMIN_SITE}),
    })


# Who reaches which model in the admin: superusers only (the site's gate);
# Administração manages staff and reads the trail in the app.
model_admin("registry", "tutor", view=SUPERUSERS, add=SUPERUSERS, change=SUPERUSERS, delete=SUPERUSERS)
model_admin("registry", "animal", view=SUPERUSERS, add=SUPERUSERS, change=SUPERUSERS, delete=SUPERUSERS)
model_admin("registry", "photo", view=SUPERUSERS, add=SUPERUSERS, change=SUPERUSERS, delete=SUPERUSERS)
# the audit trail is read-only for everyone (and append-only in the database)
model_admin("registry", "auditentry", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=NOBODY)
# the photo deletion outbox is the app's own bookkeeping: read-only
model_admin("registry", "photodeletion", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=NOBODY)
# sign-in attempts (django-axes): read and unlocked (an attempt deleted); nobody forges or edits one
model_admin("axes", "accessattempt", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=SUPERUSERS)
model_admin("axes", "accessfailurelog", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=NOBODY)
model_admin("axes", "accesslog", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=NOBODY)
# users: never deleted (the audit trail refers to them; deactivated instead)
model_admin("auth", "user", view=SUPERUSERS, add=SUPERUSERS, change=SUPERUSERS, delete=NOBODY)
ACCESS["admin:auth_user_password_change"] = _admin(allowed={"GET": SUPERUSERS, "POST": SUPERUSERS})
# groups (the roles) are defined in code (registry/roles.py); nobody edits them in the admin
model_admin("auth", "group", view=SUPERUSERS, add=NOBODY, change=NOBODY, delete=NOBODY)
