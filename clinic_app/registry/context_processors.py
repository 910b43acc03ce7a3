from . import roles as role_defs


def roles(request):
    """Role flags for templates (the server enforces them again in each view)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can_archive": user.has_perm("registry.archive_animal"),
        "can_export": user.has_perm("registry.export_animal"),
        "can_edit": user.has_perm("registry.change_animal"),
        "can_add": user.has_perm("registry.add_animal"),
        "can_photo": user.has_perm("registry.add_photo"),
        # the Django admin: superusers only (registry.admin.superusers_only)
        "can_admin": user.is_active and user.is_superuser,
        # the app's Administração pages (registry.views_staff, registry.views_audit)
        "can_administer": user.has_perm("auth.view_user") or user.has_perm("registry.view_audit_trail"),
        "role_names": lambda: role_defs.user_role_names(user),
    }
