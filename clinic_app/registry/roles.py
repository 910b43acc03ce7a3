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
]

ROLE_PERMISSIONS = {
    RECEPTION: _EDIT,
    VET: _EDIT,
    ADMIN: _EDIT + [
        "registry.archive_animal", "registry.export_animal",
        "registry.delete_tutor", "registry.delete_animal",
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
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        objs = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is None and (app_label == "axes" or apps is not global_apps):
                # an early migration's state lacks later permissions (axes' tables, a
                # permission a later migration adds); the migration that adds it applies
                # the roles again. setup_roles (the real registry) still refuses a typo.
                continue
            if found is None:
                raise LookupError(f"permission {perm} does not exist")
            objs.append(found)
        group.permissions.set(objs)


def user_role_names(user) -> str:
    if user.is_superuser:
        return ADMIN
    return ", ".join(sorted(user.groups.values_list("name", flat=True)))
