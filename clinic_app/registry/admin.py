from django.contrib import admin

from .models import Animal, AuditEntry, LoginFailure, Photo, Tutor

admin.site.site_header = "Sistema da Clínica — Administração"
admin.site.site_title = "Sistema da Clínica"


@admin.register(Tutor)
class TutorAdmin(admin.ModelAdmin):
    list_display = ("name", "cpf", "phone", "city", "uf")
    search_fields = ("search_name", "cpf", "phone")
    readonly_fields = ("created_at", "updated_at", "created_by", "updated_by")


@admin.register(Animal)
class AnimalAdmin(admin.ModelAdmin):
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
    list_display = ("timestamp", "object_type", "object_id", "action", "field", "username")
    list_filter = ("object_type", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "ip")
