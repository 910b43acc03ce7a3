from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User

from . import audit
from .models import Animal, AuditEntry, Photo, PhotoDeletion, Tutor

admin.site.site_header = "Sistema da Clínica — Administração"
admin.site.site_title = "Sistema da Clínica"


def superusers_only(request) -> bool:
    """The Django admin is for superusers (the platform's operators) only; the
    clinic's Administração manages staff and reads the trail in the app's own
    pages (registry.views_staff, registry.views_audit). Anyone else, staff
    flag or not, gets the admin's sign-in page."""
    user = request.user
    return bool(user.is_active and user.is_superuser)


admin.site.has_permission = superusers_only


STALE_MESSAGE = ("Este cadastro foi alterado por outra pessoa enquanto você editava. Nada foi salvo: "
                 "abra-o de novo para ver a versão atual e refaça a sua alteração.")


class VersionCheckedForm(forms.ModelForm):
    """Admin edits of versioned records refuse a stale form, as the app does
    (registry.editing): the version the page was opened with travels along."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            current = type(self.instance).objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if data.get("seen_version") != current:
                raise forms.ValidationError(STALE_MESSAGE, code="stale")
        return data


class AuditedAdmin(admin.ModelAdmin):
    """Creates and edits made in the admin go to the audit trail like the app's
    (deletions are recorded by the pre_delete signal, registry.outbox)."""

    def save_model(self, request, obj, form, change):
        names = {f.name for f in obj._meta.concrete_fields}
        fields = [f for f in form.changed_data if f in names]
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk), fields) if change else None
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if change:
            audit.record_changes(obj, before, request.user, request=request)
        else:
            audit.record(obj, AuditEntry.Action.CREATE, request.user, new=str(obj), request=request)


@admin.register(Tutor)
class TutorAdmin(AuditedAdmin):
    form = VersionCheckedForm
    list_display = ("name", "cpf", "phone", "city", "uf")
    search_fields = ("search_name", "cpf", "phone")
    readonly_fields = ("created_at", "updated_at", "created_by", "updated_by")


@admin.register(Animal)
class AnimalAdmin(AuditedAdmin):
    form = VersionCheckedForm
    list_display = ("name", "species", "tutor", "microchip", "is_active")
    list_filter = ("species", "is_active", "deceased")
    search_fields = ("search_name", "microchip")
    raw_id_fields = ("tutor",)
    list_select_related = ("tutor",)
    readonly_fields = ("created_at", "updated_at", "created_by", "updated_by")


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("photo_id", "animal", "status", "is_primary", "uploaded_at")
    list_filter = ("status",)
    raw_id_fields = ("animal",)
    # status and principal follow the processor and the app's rules (a failed photo is never
    # principal): not hand-edited here.
    readonly_fields = ("photo_id", "key", "renditions", "manifest", "error_code", "error_message", "processed_at",
                       "status", "is_primary")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "object_type", "object_id", "action", "field", "username", "ip_address", "redacted")
    list_filter = ("object_type", "action", "redacted")
    search_fields = ("username",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- accounts: nobody acts beyond their own power -----------------------------

def _power(user) -> set[str] | None:
    """Everything a user can do: None for a superuser (unbounded), else the set
    of 'app.codename' permissions from the user and their groups."""
    if user.is_superuser:
        return None
    return set(user.get_all_permissions()) if user.is_active else set()


def _perm_names(perms) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def may_manage(actor, target) -> bool:
    """An actor may change/delete an account only if it has no power the actor lacks."""
    mine = _power(actor)
    if mine is None:
        return True
    # (is_staff no longer opens anything: the admin is for superusers only)
    if target.is_superuser:
        return False
    theirs = set(target.get_all_permissions()) if target.pk else set()
    return theirs <= mine


class ClinicUserAdmin(UserAdmin):
    """Django's UserAdmin, bounded by the actor's own power: a non-superuser
    cannot touch a superuser (or anyone with a permission it lacks), cannot set
    is_superuser, and can only hand out groups and permissions it holds itself.
    The password-change view goes through has_change_permission too."""

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_manage(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        # Never: the audit trail refers to every account (its FK's SET_NULL would
        # be an UPDATE the trail's triggers refuse). Accounts are deactivated.
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("is_superuser")
            if not request.user.is_staff:
                fields.append("is_staff")
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        mine = _power(request.user)
        if mine is not None and db_field.name == "user_permissions":
            ids = [p.pk for p in Permission.objects.select_related("content_type") if _perm_names([p]) <= mine]
            kwargs["queryset"] = Permission.objects.filter(pk__in=ids)
        if mine is not None and db_field.name == "groups":
            ids = [g.pk for g in Group.objects.prefetch_related("permissions__content_type")
                   if _perm_names(g.permissions.all()) <= mine]
            kwargs["queryset"] = Group.objects.filter(pk__in=ids)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ClinicGroupAdmin(GroupAdmin):
    """The groups are the clinic's three roles, defined in code
    (registry/roles.py, applied by migrations and ``setup_roles``): read-only
    here, for everyone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, ClinicUserAdmin)
admin.site.register(Group, ClinicGroupAdmin)


@admin.register(PhotoDeletion)
class PhotoDeletionAdmin(admin.ModelAdmin):
    """The deletion outbox, read-only: operators see what S3 has not confirmed yet."""

    list_display = ("photo_id", "animal_id", "requested_by", "requested_at", "attempts", "done_at", "last_error")
    list_filter = (("done_at", admin.EmptyFieldListFilter),)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- sign-in attempts (django-axes): read, and unlock by deleting an attempt ------

def _read_only(admin_class, deletable: bool):
    """axes' admin with no change: its forms are all read-only fields, but a POST
    to the change page would still be 'accepted'; here it is refused outright.
    An attempt may be deleted (that unlocks it); the logs are records, kept."""
    attrs = {"has_change_permission": lambda self, request, obj=None: False}
    if not deletable:
        attrs["has_delete_permission"] = lambda self, request, obj=None: False
    return type(f"ReadOnly{admin_class.__name__}", (admin_class,), attrs)


def _reregister_axes() -> None:
    from axes import admin as axes_admin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model, admin_class, deletable in ((AccessAttempt, axes_admin.AccessAttemptAdmin, True),
                                          (AccessLog, axes_admin.AccessLogAdmin, False),
                                          (AccessFailureLog, axes_admin.AccessFailureLogAdmin, False)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, _read_only(admin_class, deletable))


_reregister_axes()
