"""Species managed by Administração, breed suggestions per species with a single
SRD, and the migration that turned the fixed species choices into a table."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from registry import breeds
from registry.forms import AnimalForm
from registry.models import Animal, Breed, Species

pytestmark = pytest.mark.django_db

DEFAULT_NAMES = ["Cão", "Gato", "Ave", "Coelho", "Roedor", "Réptil", "Peixe", "Furão", "Equino", "Bovino", "Outro"]


def animal_data(tutor, **kw):
    data = {"tutor": tutor.pk, "name": "Floquinho", "species": "dog", "sex": "male", "breed": ""}
    data.update(kw)
    return data


def test_default_species_in_order_and_the_label(make_animal):
    assert list(Species.objects.values_list("name", flat=True)) == DEFAULT_NAMES
    assert make_animal(species="cat").species_label == "Gato"
    # exactly one SRD for every species
    for species in Species.objects.all():
        assert species.breeds.filter(is_srd=True).count() == 1, species


def test_one_srd_per_species_in_the_database():
    dog = Species.objects.get(pk="dog")
    for spelling in ("srd", "S.R.D.", "sem raça definida", "Vira-lata"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Breed.objects.create(species=dog, name=spelling)
    assert dog.breeds.filter(is_srd=True).count() == 1


@pytest.mark.parametrize("typed", ["srd", "S.R.D.", " sem  raça definida ", "Sem Raca Definida", "SRD", "vira-lata",
                                   "SRD (sem raça definida)"])
def test_every_srd_spelling_is_saved_as_the_one_srd(reception_client, make_tutor, typed):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create"), animal_data(tutor, breed=typed))
    assert response.status_code == 302
    assert Animal.objects.get(tutor=tutor).breed == breeds.SRD


def test_a_known_breed_is_saved_as_spelt_on_file_and_others_as_typed(reception_client, make_tutor):
    tutor = make_tutor()
    reception_client.post(reverse("animal_create"), animal_data(tutor, name="A", breed="  labrador "))
    reception_client.post(reverse("animal_create"), animal_data(tutor, name="B", species="cat", breed="siames"))
    reception_client.post(reverse("animal_create"), animal_data(tutor, name="C", breed="Vira-lata caramelo"))
    assert dict(Animal.objects.filter(tutor=tutor).values_list("name", "breed")) == {
        "A": "Labrador", "B": "Siamês", "C": "Vira-lata caramelo"}


def test_breed_suggestions_follow_the_species(reception_client, make_tutor, make_animal):
    tutor = make_tutor()
    page = reception_client.get(reverse("animal_create"), {"tutor": tutor.pk})
    html = page.content.decode()
    # without JavaScript, the datalist offers every breed, SRD once
    datalist = html.split('<datalist id="breed-options">')[1].split("</datalist>")[0]
    assert datalist.count(breeds.SRD) == 1 and "Labrador" in datalist and "Siamês" in datalist
    assert 'list="breed-options"' in html and 'id="breed-data"' in html and "clinic/breeds.js" in html
    by_species = page.context["form"].breed_suggestions()["by_species"]
    assert "Siamês" in by_species["cat"] and "Siamês" not in by_species["dog"]
    assert by_species["dog"][0] == breeds.SRD
    # an animal with a species: its breeds only
    cat = make_animal(species="cat", tutor=tutor)
    html = reception_client.get(reverse("animal_edit", args=[cat.pk])).content.decode()
    datalist = html.split('<datalist id="breed-options">')[1].split("</datalist>")[0]
    assert "Siamês" in datalist and "Labrador" not in datalist


def test_an_inactive_species_is_not_offered_but_existing_animals_keep_it(reception_client, make_animal, make_tutor):
    horse = make_animal(species="horse", name="Pégaso")
    Species.objects.filter(pk="horse").update(active=False)
    new_form = AnimalForm()
    assert "horse" not in [c for c, _ in new_form.fields["species"].choices]
    refused = reception_client.post(reverse("animal_create"), animal_data(make_tutor(), species="horse"))
    assert refused.status_code == 200
    assert "Escolha uma espécie da lista." in refused.content.decode()
    edit_form = AnimalForm(instance=horse)
    assert "horse" in [str(c) for c, _ in edit_form.fields["species"].choices]
    assert horse.species_label == "Equino"
    # the list's filter still has it (archived and old records)
    listing = reception_client.get(reverse("animal_list"), {"species": "horse"})
    assert [r["animal"].name for r in listing.context["rows"]] == ["Pégaso"]


def test_administracao_adds_renames_and_deactivates_a_species(admin_client_, reception_client):
    response = admin_client_.post(reverse("species_create"), {"name": "tartaruga marinha", "order": "120",
                                                             "active": "on"})
    species = Species.objects.get(name="Tartaruga marinha")
    assert response.status_code == 302 and response["Location"] == reverse("species_edit", args=[species.pk])
    assert species.code == "tartaruga-marinha"
    assert species.breeds.get().name == breeds.SRD  # a new species has its SRD
    assert ("tartaruga-marinha", "Tartaruga marinha") in AnimalForm().fields["species"].choices
    # the same name in other letters is refused
    dup = admin_client_.post(reverse("species_create"), {"name": "CAO", "order": "1", "active": "on"})
    assert dup.status_code == 200 and "Já existe a espécie “Cão”." in dup.content.decode()
    # rename, keep the code (and the animals)
    admin_client_.post(reverse("species_edit", args=[species.pk]), {"name": "Tartaruga", "order": "120",
                                                                   "active": "on"})
    species.refresh_from_db()
    assert species.name == "Tartaruga" and species.code == "tartaruga-marinha"
    # deactivate
    admin_client_.post(reverse("species_edit", args=[species.pk]), {"name": "Tartaruga", "order": "120"})
    species.refresh_from_db()
    assert species.active is False
    assert "tartaruga-marinha" not in [c for c, _ in AnimalForm().fields["species"].choices]
    # reception does not manage species
    assert reception_client.get(reverse("species_list")).status_code == 403
    listing = admin_client_.get(reverse("species_list")).content.decode()
    assert "Tartaruga" in listing and "Desativada" in listing


def test_administracao_adds_and_removes_breeds(admin_client_):
    url = reverse("breed_create", args=["cat"])
    assert admin_client_.post(url, {"name": "Toyger"}).status_code == 302
    assert Breed.objects.filter(species="cat", name="Toyger").exists()
    again = admin_client_.post(url, {"name": "toyger"})
    assert again.status_code == 400 and "Gato já tem a raça “Toyger”." in again.content.decode()
    srd = admin_client_.post(url, {"name": "s.r.d"})
    assert srd.status_code == 400 and f"Gato já tem a raça “{breeds.SRD}”." in srd.content.decode()
    toyger = Breed.objects.get(species="cat", name="Toyger")
    admin_client_.post(reverse("breed_delete", args=[toyger.pk]))
    assert not Breed.objects.filter(pk=toyger.pk).exists()
    the_srd = Breed.objects.get(species="cat", is_srd=True)
    admin_client_.post(reverse("breed_delete", args=[the_srd.pk]))
    assert Breed.objects.filter(pk=the_srd.pk).exists()  # never removed


# --- the migration ------------------------------------------------------------------------

# serialized_rollback: the flush after this test must not re-create content types
# (post_migrate) under new ids, or a later serialized test's restore would clash
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_from_0006_keeps_every_animals_species():
    """Animals saved with the old fixed codes (and one code that was never a
    choice) migrate to the table; SRD spellings become the one SRD; the search
    index is whole afterwards; Administração gets the new permissions."""
    from registry import search, search_index

    executor = MigrationExecutor(connection)
    target = [("registry", "0006_audit_trail")]
    leaf = executor.loader.graph.leaf_nodes("registry")
    executor.migrate(target)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO registry_tutor (name, search_name, phone, phone_secondary, search_phones,"
                           " email, cep, street, number, complement, neighbourhood, city, uf, notes, version,"
                           " created_at, updated_at) VALUES ('Ana Souza', 'ana souza', '11999990000', '',"
                           " '11999990000', '', '', '', '', '', '', '', '', '', 1, '2024-01-01', '2024-01-01')")
            cursor.execute("SELECT id FROM registry_tutor WHERE name = 'Ana Souza'")
            tutor_id = cursor.fetchone()[0]
            for name, code, breed in (("Rex", "dog", "s.r.d."), ("Mimi", "cat", "Persa"), ("Loro", "bird", ""),
                                      ("Nemo", "peixinho", "vira lata")):
                cursor.execute(
                    "INSERT INTO registry_animal (name, search_name, species, breed, sex, neutered,"
                    " birth_date_estimated, coat, tutor_id, is_active, deceased, notes, version, created_at,"
                    " updated_at) VALUES (%s, lower(%s), %s, %s, 'male', %s, %s, '', %s, %s, %s, '', 1,"
                    " '2024-01-01', '2024-01-01')", [name, name, code, breed, False, False, tutor_id, True, False])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaf)
    species = dict(Animal.objects.values_list("name", "species__name"))
    assert species == {"Rex": "Cão", "Mimi": "Gato", "Loro": "Ave", "Nemo": "Peixinho"}
    breeds_on_file = dict(Animal.objects.values_list("name", "breed"))
    assert breeds_on_file == {"Rex": breeds.SRD, "Mimi": "Persa", "Loro": "", "Nemo": breeds.SRD}
    assert not search_index.missing_triggers(connection)
    assert len(search.search_animals("Ana Souza").ids) == 4
    assert search.search_tutors("Nemo").ids == [tutor_id]
    from django.contrib.auth.models import Group

    codenames = set(Group.objects.get(name="Administração").permissions.values_list("codename", flat=True))
    assert {"merge_tutor", "merge_animal", "change_species", "add_breed"} <= codenames
