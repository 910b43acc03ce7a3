"""Create the first administrator, idempotently, without ever printing the password.

Password source, first found wins:
  --password-file PATH        file content (trailing newline stripped)
  --secret-id ARN|NAME        AWS Secrets Manager SecretString; plain text or
                              JSON with a "password" key (and optional "username")
  CLINIC_ADMIN_PASSWORD       environment variable
Username: --username, else CLINIC_ADMIN_USERNAME, else "admin".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from clinic import envvars as E
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.roles import ADMIN


def _secret_password(secret_id: str) -> tuple[str, str | None]:
    import boto3
    from django.conf import settings

    client = boto3.client("secretsmanager", region_name=settings.AWS_REGION)
    value = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    try:
        data = json.loads(value)
    except ValueError:
        return value, None
    if isinstance(data, dict):
        return str(data.get("password") or ""), data.get("username")
    return value, None


class Command(BaseCommand):
    help = "Cria o primeiro administrador (idempotente). A senha nunca é exibida."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=None)
        parser.add_argument("--email", default=os.environ.get(E.ADMIN_EMAIL, ""))
        parser.add_argument("--password-file", default=None)
        parser.add_argument("--secret-id", default=os.environ.get(E.ADMIN_SECRET_ID) or None)

    def handle(self, *args, **options):
        username = options["username"]
        password = ""
        if options["password_file"]:
            try:
                password = Path(options["password_file"]).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise CommandError(f"Não foi possível ler o arquivo de senha: {exc.strerror}") from None
        elif options["secret_id"]:
            try:
                password, secret_user = _secret_password(options["secret_id"])
            except Exception as exc:
                raise CommandError(f"Não foi possível ler o segredo: {type(exc).__name__}") from None
            username = username or secret_user
        else:
            password = os.environ.get(E.ADMIN_PASSWORD, "")
        username = username or os.environ.get(E.ADMIN_USERNAME) or "admin"

        User = get_user_model()
        with transaction.atomic():
            group, _ = Group.objects.get_or_create(name=ADMIN)
            user = User.objects.filter(username=username).first()
            if user is not None:
                changed = False
                if not user.groups.filter(pk=group.pk).exists():
                    user.groups.add(group)
                    changed = True
                if not (user.is_staff and user.is_superuser and user.is_active):
                    user.is_staff = user.is_superuser = user.is_active = True
                    user.save(update_fields=["is_staff", "is_superuser", "is_active"])
                    changed = True
                self.stdout.write(f"Administrador '{username}' já existe" + (" (permissões ajustadas)." if changed else "."))
                return
            if not password:
                raise CommandError(
                    f"Senha não informada: defina {E.ADMIN_PASSWORD}, --password-file ou --secret-id."
                )
            if len(password) < 12:
                raise CommandError("A senha do administrador deve ter pelo menos 12 caracteres.")
            user = User.objects.create_superuser(username=username, email=options["email"], password=password)
            user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(f"Administrador '{username}' criado."))
