from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Cadastro"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit, audit_guard, checks, outbox, search_index, staff  # noqa: F401 - checks, signals

        connection_created.connect(search_index.register_sqlite_functions,
                                   dispatch_uid="registry.search_index.fold")
        post_migrate.connect(search_index.ensure_after_migrate, sender=self,
                             dispatch_uid="registry.search_index.ensure")
        user_logged_out.connect(audit.signed_out, dispatch_uid="registry.audit.signed_out")
        user_logged_in.connect(staff.remember_flag_at_sign_in, dispatch_uid="registry.staff.sign_in_flag")
        post_migrate.connect(audit_guard.ensure_after_migrate, sender=self,
                             dispatch_uid="registry.audit_guard.ensure")
