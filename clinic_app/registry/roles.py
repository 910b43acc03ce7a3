"""The three clinic roles (Django groups) and their permissions.

Applied by migration 0002 and re-applied by ``manage.py setup_roles``.
"""

RECEPTION = "Recepção"
VET = "Veterinário"
ADMIN = "Administração"

_EDIT = [
    "registry.add_tutor", "registry.change_tutor", "registry.view_tutor",
    "registry.add_animal", "registry.change_animal", "registry.view_animal",
    "registry.add_photo", "registry.change_photo", "registry.view_photo", "registry.delete_photo",
    "registry.view_auditentry",
    # consent (LGPD): every role records a tutor's decision at the desk
    "registry.add_consentrecord", "registry.view_consentrecord",
]

ROLE_PERMISSIONS = {
    RECEPTION: _EDIT,
    VET: _EDIT,
    ADMIN: _EDIT + [
        "registry.archive_animal", "registry.export_animal",
        "registry.delete_tutor", "registry.delete_animal",
        # merge two records of the same tutor / animal (registry.views_merge)
        "registry.merge_tutor", "registry.merge_animal",
        # the species and breed lists offered by the animal form (registry.views_species)
        "registry.view_species", "registry.add_species", "registry.change_species",
        "registry.view_breed", "registry.add_breed", "registry.delete_breed",
        # a tutor's data on request and erasure (LGPD art. 18; registry.views_lgpd)
        "registry.data_request_tutor", "registry.erase_tutor",
        # unlock a locked-out address/username (django-axes' attempts in the admin)
        "axes.view_accessattempt", "axes.delete_accessattempt",
        "axes.view_accessfailurelog", "axes.view_accesslog",
        # staff accounts in the app's own pages (registry.views_staff); never deleted
        # (the audit trail refers to them), only deactivated
        "auth.add_user", "auth.change_user", "auth.view_user",
        "auth.view_group",
        # the whole audit trail in the app (registry.views_audit)
        "registry.view_audit_trail",
    ],
}


def apply_roles(apps) -> None:
    """Create/refresh the groups; `apps` is a migration state or django.apps."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for label in ("auth", "registry", "axes"):
        try:
            app_config = apps.get_app_config(label)
        except LookupError:  # an app whose models are not in this migration state yet
            continue
        stub = getattr(app_config, "models_module", None) is None
        if stub:  # migration state: AppConfigStub has no models_module
            app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            if stub:
                app_config.models_module = None

    # An early migration sees the permissions of its own state only; the
    # migration that adds a permission applies the roles again (0007 does).
    in_migration = apps is not global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        objs = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is None and (app_label == "axes" or in_migration):
                continue  # not in this migration's state yet (axes: before 0004); a later one applies it
            if found is None:
                raise LookupError(f"permission {perm} does not exist")
            objs.append(found)
        group.permissions.set(objs)


def user_role_names(user) -> str:
    if user.is_superuser:
        return ADMIN
    return ", ".join(sorted(user.groups.values_list("name", flat=True)))
