"""Staff accounts managed in the app (registry.views_staff): a profile with
the forced password change; the roles again (view_audit_trail for
Administração; nobody deletes accounts any more)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def apply_roles(apps, schema_editor):
    from registry.roles import apply_roles as apply

    apply(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0009_audit_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("must_change_password", models.BooleanField(default=False, verbose_name="precisa trocar a senha")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="staff_profile", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "perfil da equipe",
                "verbose_name_plural": "perfis da equipe",
            },
        ),
        migrations.RunPython(apply_roles, migrations.RunPython.noop),
    ]
