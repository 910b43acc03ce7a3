"""Validation through the real pages: pt-BR messages next to the field, duplicates."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from registry.models import Animal, AuditEntry, Tutor

from .factories import make_chip, token_for

pytestmark = pytest.mark.django_db


def tutor_data(**kw):
    data = {"name": "Ana Beatriz Souza", "cpf": "529.982.247-25", "phone": "(11) 98765-4321",
            "phone_secondary": "", "email": "ana@example.com", "cep": "01310-100", "street": "Avenida Paulista",
            "number": "1000", "complement": "apto 12", "neighbourhood": "Bela Vista", "city": "São Paulo",
            "uf": "SP", "notes": ""}
    data.update(kw)
    return data


def animal_data(tutor, **kw):
    data = {"name": "Paçoca", "species": "cat", "breed": "SRD", "sex": "female", "neutered": "on",
            "birth_date": "15/03/2020", "coat": "tricolor", "microchip": "076 123 456 789 012",
            "weight_kg": "4,250", "tutor": tutor.pk, "notes": ""}
    data.update(kw)
    return data


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def test_create_tutor_normalises_and_formats(reception_client):
    response = reception_client.post(reverse("tutor_create"), tutor_data())
    assert response.status_code == 302
    tutor = Tutor.objects.get()
    assert tutor.cpf == "52998224725"
    assert tutor.phone == "11987654321"
    assert tutor.cep == "01310100"
    assert tutor.search_name == "ana beatriz souza"
    assert tutor.created_by.username == "recepcao"
    page = reception_client.get(response["Location"]).content.decode()
    assert "529.982.247-25" in page and "(11) 98765-4321" in page and "01310-100" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpf", "529.982.247-24", "CPF inválido: os dígitos verificadores não conferem."),
        ("cpf", "123", "CPF deve ter 11 dígitos."),
        ("phone", "", "Este campo é obrigatório."),
        ("phone", "98765-4321", "Telefone deve ter DDD + número, ex.: (11) 98765-4321."),
        ("email", "ana@", "Informe um e-mail válido, ex.: nome@exemplo.com.br."),
        ("name", "", "Este campo é obrigatório."),
        ("cep", "123", "CEP deve ter 8 dígitos, ex.: 01310-100."),
        ("uf", "XX", "Faça uma escolha válida. XX não é uma das escolhas disponíveis."),
    ],
)
def test_tutor_validation_messages_in_portuguese(reception_client, field, value, message):
    response = reception_client.post(reverse("tutor_create"), tutor_data(**{field: value}))
    assert response.status_code == 200
    assert field_errors(response, field) == [message]
    html = response.content.decode()
    # the error is rendered inside the field's own block
    block = html.split(f'id="field-{field}"', 1)[1].split('<div class="field', 1)[0]
    assert message.replace('"', "&quot;") in block or message in block
    assert not Tutor.objects.exists()


def test_duplicate_cpf_refused(reception_client, make_tutor):
    make_tutor(cpf="52998224725")
    response = reception_client.post(reverse("tutor_create"), tutor_data(name="Outra Pessoa"))
    assert field_errors(response, "cpf") == ["Já existe um tutor com este CPF."]
    assert Tutor.objects.count() == 1


def test_blank_cpf_allowed_many_times(reception_client):
    for name in ("Sem CPF Um", "Sem CPF Dois"):
        # same phone as each other: the second needs the explicit "é outra pessoa"
        response = reception_client.post(reverse("tutor_create"), tutor_data(name=name, cpf="", not_duplicate="on"))
        assert response.status_code == 302
    assert Tutor.objects.filter(cpf=None).count() == 2


def test_create_animal(reception_client, make_tutor):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}", animal_data(tutor))
    assert response.status_code == 302, response.context["form"].errors
    animal = Animal.objects.get()
    assert animal.microchip == "076123456789012"
    assert animal.birth_date == datetime.date(2020, 3, 15)
    assert str(animal.weight_kg) == "4.250"
    assert animal.neutered and animal.tutor == tutor
    assert animal.created_by.username == "recepcao"
    page = reception_client.get(response["Location"]).content.decode()
    assert "15/03/2020" in page and "076123456789012" in page
    assert AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, action="create").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("microchip", "07612345678901", "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) nos modelos antigos; foram informados 14."),
        ("microchip", "0761234567890123", "O microchip deve ter 15 dígitos (ISO 11784), ou 10 caracteres (FDX-A) ou 9 dígitos (AVID) nos modelos antigos; foram informados 16."),
        ("microchip", "07612345678901X", "Microchip de 15 caracteres (ISO 11784) deve conter apenas números."),
        ("species", "dragon", "Escolha uma espécie da lista."),
        ("birth_date", "31/02/2020", "Informe uma data válida."),
        ("birth_date", "2099-01-01", "A data de nascimento não pode estar no futuro."),
        ("weight_kg", "0", "O peso deve ser maior que zero."),
        ("weight_kg", "2500", "Peso acima de 2.000 kg: confira o valor."),
        ("weight_kg", "1,23456", "Informe o peso com até 3 casas decimais."),
        ("weight_kg", "abc", "Informe um número."),
        ("name", "", "Este campo é obrigatório."),
    ],
)
def test_animal_validation_messages_in_portuguese(reception_client, make_tutor, field, value, message):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}",
                                     animal_data(tutor, **{field: value}))
    assert response.status_code == 200
    assert field_errors(response, field) == [message]
    assert not Animal.objects.exists()


def test_duplicate_microchip_refused(reception_client, make_animal, make_tutor):
    make_animal(microchip="076123456789012")
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}", animal_data(tutor))
    assert field_errors(response, "microchip") == ["Já existe um animal com este microchip."]


def test_blank_microchip_allowed_many_times(reception_client, make_tutor):
    tutor = make_tutor()
    for name in ("Um", "Dois"):
        response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}",
                                         animal_data(tutor, name=name, microchip=""))
        assert response.status_code == 302
    assert Animal.objects.filter(microchip=None).count() == 2


def test_estimated_age_sets_an_approximate_birth_date(reception_client, make_tutor):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}",
                                     animal_data(tutor, birth_date="", age_years="3", age_months="6"))
    assert response.status_code == 302
    animal = Animal.objects.get()
    assert animal.birth_date_estimated
    today = timezone.localdate()
    months = (today.year - animal.birth_date.year) * 12 + today.month - animal.birth_date.month
    assert months == 42
    assert animal.age_display.startswith("cerca de ")  # "(aproximada)" is said once, next to the date


def test_birth_date_and_estimated_age_are_exclusive(reception_client, make_tutor):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}",
                                     animal_data(tutor, age_years="2"))
    assert field_errors(response, "age_years") == ["Informe a data de nascimento ou a idade estimada, não ambas."]


def test_deceased_requires_a_valid_date(reception_client, make_tutor):
    tutor = make_tutor()
    url = reverse("animal_create") + f"?tutor={tutor.pk}"
    response = reception_client.post(url, animal_data(tutor, deceased="on"))
    assert field_errors(response, "deceased_on") == ["Informe a data do óbito."]
    response = reception_client.post(url, animal_data(tutor, deceased_on="01/01/2019"))
    assert field_errors(response, "deceased_on") == ["A data do óbito não pode ser anterior ao nascimento."]
    response = reception_client.post(url, animal_data(tutor, deceased_on="10/01/2023"))
    assert response.status_code == 302
    animal = Animal.objects.get()
    assert animal.deceased and animal.deceased_on == datetime.date(2023, 1, 10)


def test_unknown_tutor_refused(reception_client, make_tutor):
    tutor = make_tutor()
    data = {**animal_data(tutor), "tutor": "999999"}
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}", data)
    assert field_errors(response, "tutor") == ["Tutor não encontrado."]


def test_create_animal_without_tutor_shows_picker(reception_client, make_tutor):
    make_tutor(name="Joana Prado")
    response = reception_client.get(reverse("animal_create") + "?q=prado")
    html = response.content.decode()
    assert 'id="tutor-picker-results"' in html and "Joana Prado" in html


def test_change_tutor(reception_client, make_animal, make_tutor):
    animal = make_animal()
    other = make_tutor(name="Outro Tutor")
    response = reception_client.get(reverse("animal_edit", args=[animal.pk]) + f"?tutor={other.pk}")
    assert "Outro Tutor" in response.content.decode()
    data = animal_data(other, microchip="", name=animal.name, species="dog", sex="male", birth_date="",
                       edit_token=token_for(animal))
    response = reception_client.post(reverse("animal_edit", args=[animal.pk]), data)
    assert response.status_code == 302
    animal.refresh_from_db()
    assert animal.tutor == other
    entry = AuditEntry.objects.get(object_type="animal", object_id=animal.pk, field="tutor")
    assert entry.new_value == "Outro Tutor"


def test_microchip_unique_even_with_formatting(make_animal, reception_client, make_tutor):
    chip = make_chip(5)
    make_animal(microchip=chip)
    tutor = make_tutor()
    spaced = " ".join([chip[:3], chip[3:9], chip[9:]])
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}",
                                     animal_data(tutor, microchip=spaced))
    assert field_errors(response, "microchip") == ["Já existe um animal com este microchip."]
