"""Every page of the app a person can open, by URL name: what the axe-core
check (test_accessibility.py) visits at desktop and phone sizes.

tests/app/test_axe_coverage.py walks the declared access table (which itself
must cover the whole URL map) and fails when a view that answers GET is
neither here nor in NOT_PAGES: a new page is checked by axe from its first day.

Paths are formatted with the ids the e2e test finds on the local stack:
{animal}, {other_animal}, {tutor}, {other_tutor}, {species}, {person}.
"""

from __future__ import annotations

PAGES: dict[str, str] = {
    "login": "/entrar/",  # visited before signing in
    "animal_list": "/animais/",
    "animal_create": "/animais/novo/",
    "animal_detail": "/animais/{animal}/",
    "animal_edit": "/animais/{animal}/editar/",
    "animal_card": "/animais/{animal}/ficha/",
    "animal_archive": "/animais/{animal}/arquivar/",
    "animal_reactivate": "/animais/{animal}/reativar/",
    "animal_merge": "/animais/{animal}/mesclar/?com={other_animal}",
    "tutor_list": "/tutores/",
    "tutor_create": "/tutores/novo/",
    "tutor_detail": "/tutores/{tutor}/",
    "tutor_edit": "/tutores/{tutor}/editar/",
    "tutor_merge": "/tutores/{tutor}/mesclar/?com={other_tutor}",
    "tutor_data_report": "/tutores/{tutor}/dados/",
    "tutor_erase": "/tutores/{tutor}/anonimizar/",
    "species_list": "/especies/",
    "species_create": "/especies/nova/",
    "species_edit": "/especies/{species}/",
    "password_change": "/conta/senha/",
    "staff_list": "/administracao/equipe/",
    "staff_create": "/administracao/equipe/nova/",
    "staff_edit": "/administracao/equipe/{person}/",
    "staff_deactivate": "/administracao/equipe/{person}/desativar/",
    "staff_reactivate": "/administracao/equipe/{person}/reativar/",
    "staff_password": "/administracao/equipe/{person}/senha/",
    "audit_list": "/administracao/auditoria/",
}

# The same views in another state worth checking on its own.
VARIANTS: dict[str, str] = {
    "animal search": "/animais/?q=Tohr",
    "tutor picker": "/animais/novo/?q=silva",
    "tutor merge, choosing the other record": "/tutores/{tutor}/mesclar/",
    "audit trail, errors": "/administracao/auditoria/?de=x",
}

# Views that answer GET but are not pages a person reads, each with why.
NOT_PAGES: dict[str, str] = {
    "healthz": "plain-text health check for the load balancer",
    "home": "a redirect to the animal list",
    "animal_export": "a CSV download",
    "tutor_data_report_json": "a JSON download",
    "photo_status": "JSON API polled by photos.js",
    "^static/(?P<path>.*)$": "static files (CSS, JavaScript, images)",
    "admin:login": "the Django admin's sign-in, for superusers only (not a clinic page)",
}
