from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Cadastro"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit, audit_guard, checks, outbox, search_index  # noqa: F401 - system checks, deletion signals

        connection_created.connect(search_index.register_sqlite_functions,
                                   dispatch_uid="registry.search_index.fold")
        post_migrate.connect(search_index.ensure_after_migrate, sender=self,
                             dispatch_uid="registry.search_index.ensure")
        user_logged_out.connect(audit.signed_out, dispatch_uid="registry.audit.signed_out")
        post_migrate.connect(audit_guard.ensure_after_migrate, sender=self,
                             dispatch_uid="registry.audit_guard.ensure")
