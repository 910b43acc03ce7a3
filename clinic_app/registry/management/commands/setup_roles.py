from django.apps import apps
from django.core.management.base import BaseCommand

from registry.roles import ROLE_PERMISSIONS, apply_roles


class Command(BaseCommand):
    help = "Cria/atualiza os grupos Recepção, Veterinário e Administração (a migração 0002 já faz isso)."

    def handle(self, *args, **options):
        apply_roles(apps)
        self.stdout.write(f"Grupos atualizados: {', '.join(ROLE_PERMISSIONS)}")
