from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Cadastro"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import outbox  # noqa: F401 - connects the deletion signals
