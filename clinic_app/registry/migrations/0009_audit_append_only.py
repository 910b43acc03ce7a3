"""The audit trail becomes append-only in the database (registry.audit_guard):
triggers refuse every UPDATE and DELETE of an AuditEntry but the LGPD
redaction. Also the permission to read the whole trail in the app
(Administração only; registry.roles)."""

from django.db import migrations


def create(apps, schema_editor):
    from registry import audit_guard

    audit_guard.create(schema_editor.connection)


def drop(apps, schema_editor):
    from registry import audit_guard

    audit_guard.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0008_consent_lgpd"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ("-timestamp", "-id"),
                "permissions": (("view_audit_trail", "Pode consultar a trilha de auditoria completa"),),
                "verbose_name": "registro de auditoria",
                "verbose_name_plural": "trilha de auditoria",
            },
        ),
        migrations.RunPython(create, drop),
    ]
