"""Species and breeds become tables managed by Administração (Animal.species a
foreign key to Species whose codes are the former fixed choices, so existing
animals keep theirs); one SRD per species and every SRD spelling on file saved
as it; merges of two tutors or two animals (MergeRecord, merge permissions for
Administração)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def seed_species(apps, schema_editor):
    """The default species, plus one for any code on file that is not a default
    (so the foreign key holds for every existing animal). Before the AlterField:
    nothing here queues a deferred constraint check on a table it alters."""
    from registry import breeds

    Species = apps.get_model("registry", "Species")
    Animal = apps.get_model("registry", "Animal")
    for code, name, order in breeds.DEFAULT_SPECIES:
        Species.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    used = set(Animal.objects.values_list("species", flat=True).distinct())
    for code in sorted(used - set(Species.objects.values_list("code", flat=True))):
        Species.objects.create(code=code, name=code.capitalize()[:60], order=950)


def seed_breeds(apps, schema_editor):
    """One SRD for every species and the default breeds."""
    from registry import breeds

    Species = apps.get_model("registry", "Species")
    Breed = apps.get_model("registry", "Breed")
    for species in Species.objects.all():
        names = [breeds.SRD, *breeds.DEFAULT_BREEDS.get(species.code, [])]
        for name in names:
            Breed.objects.get_or_create(species=species, key=breeds.breed_key(name),
                                        defaults={"name": name, "is_srd": name == breeds.SRD})


def normalise_srd_on_file(apps, schema_editor):
    """Every SRD spelling already typed ("srd", "S.R.D.", "vira-lata", ...) saved as the one SRD."""
    from registry import breeds

    Animal = apps.get_model("registry", "Animal")
    candidates = Animal.objects.exclude(breed="").exclude(breed=breeds.SRD).values_list("breed", flat=True).distinct()
    spellings = [b for b in candidates if breeds.is_srd(b)]
    for start in range(0, len(spellings), 500):
        Animal.objects.filter(breed__in=spellings[start:start + 500]).update(breed=breeds.SRD)


def search_index_off(apps, schema_editor):
    """SQLite rebuilds registry_animal for the AlterField (new table, copy, drop,
    rename); the tutor's search triggers name registry_animal and would make the
    rename fail, so the index goes while the table is rebuilt and comes back
    (rebuilt from the tables) right after. PostgreSQL alters in place."""
    from registry import search_index

    if schema_editor.connection.vendor == "sqlite":
        search_index.drop(schema_editor.connection)


def search_index_on(apps, schema_editor):
    from registry import search_index

    if schema_editor.connection.vendor == "sqlite":
        search_index.create(schema_editor.connection)


def apply_roles(apps, schema_editor):
    from registry.roles import apply_roles as apply

    apply(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0006_audit_trail'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Species',
            fields=[
                ('code', models.SlugField(max_length=30, primary_key=True, serialize=False, verbose_name='código')),
                ('name', models.CharField(error_messages={'unique': 'Já existe uma espécie com este nome.'}, max_length=60, unique=True, verbose_name='nome')),
                ('active', models.BooleanField(default=True, verbose_name='ativa')),
                ('order', models.PositiveSmallIntegerField(default=100, verbose_name='ordem')),
            ],
            options={
                'verbose_name': 'espécie',
                'verbose_name_plural': 'espécies',
                'ordering': ('order', 'name'),
            },
        ),
        migrations.CreateModel(
            name='Breed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='nome')),
                ('key', models.CharField(editable=False, max_length=100)),
                ('is_srd', models.BooleanField(default=False, editable=False, verbose_name='SRD')),
                ('species', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='breeds', to='registry.species', verbose_name='espécie')),
            ],
            options={
                'verbose_name': 'raça',
                'verbose_name_plural': 'raças',
                'ordering': ('species', '-is_srd', 'name'),
                'constraints': [models.UniqueConstraint(fields=('species', 'key'), name='breed_unique_per_species'), models.UniqueConstraint(condition=models.Q(('is_srd', True)), fields=('species',), name='one_srd_per_species')],
            },
        ),
        migrations.RunPython(seed_species, migrations.RunPython.noop),
        migrations.RunPython(search_index_off, search_index_on),
        migrations.AlterField(
            model_name='animal',
            name='species',
            field=models.ForeignKey(db_column='species', on_delete=django.db.models.deletion.PROTECT, related_name='animals', to='registry.species', verbose_name='espécie'),
        ),
        migrations.RunPython(search_index_on, search_index_off),
        migrations.RunPython(seed_breeds, migrations.RunPython.noop),
        migrations.RunPython(normalise_srd_on_file, migrations.RunPython.noop),
        migrations.CreateModel(
            name='MergeRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('tutor', 'Tutor'), ('animal', 'Animal')], max_length=10, verbose_name='tipo')),
                ('survivor_id', models.PositiveBigIntegerField(verbose_name='cadastro mantido')),
                ('absorbed_id', models.PositiveBigIntegerField(verbose_name='cadastro absorvido')),
                ('absorbed_snapshot', models.JSONField(default=dict, verbose_name='dados do cadastro absorvido')),
                ('moved', models.JSONField(default=dict, verbose_name='registros transferidos')),
                ('username', models.CharField(blank=True, max_length=150, verbose_name='usuário (nome)')),
                ('at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='quando')),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='por')),
            ],
            options={
                'verbose_name': 'mesclagem',
                'verbose_name_plural': 'mesclagens',
                'ordering': ('-at', '-id'),
                'indexes': [models.Index(fields=['kind', 'survivor_id'], name='merge_survivor')],
                'constraints': [models.UniqueConstraint(fields=('kind', 'absorbed_id'), name='absorbed_once')],
            },
        ),
        migrations.AlterModelOptions(
            name='animal',
            options={'ordering': ('search_name', 'id'), 'permissions': (('archive_animal', 'Pode arquivar/reativar animais'), ('export_animal', 'Pode exportar a lista de animais (CSV)'), ('merge_animal', 'Pode mesclar dois cadastros de animal')), 'verbose_name': 'animal', 'verbose_name_plural': 'animais'},
        ),
        migrations.AlterModelOptions(
            name='tutor',
            options={'ordering': ('search_name', 'id'), 'permissions': (('merge_tutor', 'Pode mesclar dois cadastros de tutor'),), 'verbose_name': 'tutor', 'verbose_name_plural': 'tutores'},
        ),
        migrations.RunPython(apply_roles, migrations.RunPython.noop),
    ]
