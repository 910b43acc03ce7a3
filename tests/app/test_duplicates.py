"""Never twice: creating a tutor who is probably already registered shows the
likely duplicates (same phone, same e-mail, similar name) with links and needs
an explicit "é outra pessoa"; a CPF clash links to the existing record."""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry.models import Tutor

from .factories import make_cpf, token_for

pytestmark = pytest.mark.django_db


def post(client, **data):
    base = {"name": "Fulano de Tal", "cpf": "", "phone": "(21) 99999-0000", "phone_secondary": "", "email": "",
            "cep": "", "street": "", "number": "", "complement": "", "neighbourhood": "", "city": "", "uf": "",
            "notes": ""}
    base.update(data)
    return client.post(reverse("tutor_create"), base)


@pytest.fixture
def jose(make_tutor):
    return make_tutor(name="José da Conceição", cpf="52998224725", phone="11987654321",
                      email="jose@exemplo.com.br")


@pytest.mark.parametrize(("data", "reason"), [
    ({"phone": "(11) 98765-4321"}, "mesmo telefone"),
    ({"phone_secondary": "11 98765 4321"}, "mesmo telefone"),
    ({"email": "JOSE@Exemplo.com.br"}, "mesmo e-mail"),
    ({"name": "Jose Conceicao"}, "mesmo nome"),
    ({"name": "José Conseição"}, "nome parecido"),
])
def test_likely_duplicate_needs_confirmation(reception_client, jose, data, reason):
    response = post(reception_client, **data)
    assert response.status_code == 200
    assert Tutor.objects.count() == 1                       # nothing saved yet
    html = response.content.decode()
    assert "Este tutor pode já estar cadastrado" in html
    assert reverse("tutor_detail", args=[jose.pk]) in html and reason in html
    assert "É outra pessoa: cadastrar mesmo assim" in html

    response = post(reception_client, not_duplicate="on", **data)  # explicit "é outra pessoa"
    assert response.status_code == 302
    assert Tutor.objects.count() == 2


def test_no_warning_for_a_new_person(reception_client, jose):
    response = post(reception_client, name="Mariana Figueiredo", phone="(31) 99888-7766", email="m@f.com")
    assert response.status_code == 302 and Tutor.objects.count() == 2


def test_cpf_clash_links_to_the_existing_record(reception_client, jose):
    response = post(reception_client, name="Outro Nome", cpf="529.982.247-25", phone="(31) 99888-7766")
    assert response.status_code == 200 and Tutor.objects.count() == 1
    html = response.content.decode()
    assert "Já existe um tutor com este CPF." in html
    assert f'Este CPF já pertence a <a href="{reverse("tutor_detail", args=[jose.pk])}">' in html


def test_editing_is_not_blocked_by_itself(reception_client, make_tutor):
    tutor = make_tutor(name="Ana Souza", cpf=make_cpf(), phone="11912345678")
    response = reception_client.post(reverse("tutor_edit", args=[tutor.pk]), {
        "name": "Ana Souza", "cpf": tutor.cpf, "phone": "11912345678", "phone_secondary": "", "email": "",
        "cep": "", "street": "", "number": "", "complement": "", "neighbourhood": "", "city": "", "uf": "",
        "notes": "", "edit_token": token_for(tutor)})  # issue 13: edits carry their token
    assert response.status_code == 302


def test_new_tutor_from_the_animal_picker_returns_to_the_animal_form(reception_client):
    picker = reception_client.get(reverse("animal_create")).content.decode()
    assert f'{reverse("tutor_create")}?para=animal' in picker
    form = reception_client.get(reverse("tutor_create"), {"para": "animal"}).content.decode()
    assert 'name="para" value="animal"' in form
    response = post(reception_client, name="Nova Tutora", para="animal")
    tutor = Tutor.objects.get(name="Nova Tutora")
    assert response["Location"] == f'{reverse("animal_create")}?tutor={tutor.pk}'
    page = reception_client.get(response["Location"])
    assert page.context["tutor"] == tutor and "Nova Tutora" in page.content.decode()
    # anything else in "para" is ignored (no open redirect)
    response = post(reception_client, name="Outra Tutora", phone="(21) 98888-1111", para="https://evil.example")
    assert response["Location"] == reverse("tutor_detail", args=[Tutor.objects.get(name="Outra Tutora").pk])


def test_save_and_add_another_animal(reception_client, make_tutor):
    from registry.models import Animal

    tutor = make_tutor()
    url = reverse("animal_create") + f"?tutor={tutor.pk}"
    data = {"tutor": tutor.pk, "name": "Primeiro", "species": "dog", "sex": "male", "breed": "", "coat": "",
            "microchip": "", "weight_kg": "", "birth_date": "", "notes": "", "save_another": "1"}
    response = reception_client.post(url, data)
    assert response["Location"] == url                       # back to a blank form, same tutor
    page = reception_client.get(url)
    assert 'id="save-animal-another"' in page.content.decode()
    assert "Animal “Primeiro” cadastrado." in page.content.decode()
    data.pop("save_another")
    data["name"] = "Segundo"
    response = reception_client.post(url, data)
    animal = Animal.objects.get(name="Segundo")
    assert response["Location"] == reverse("animal_detail", args=[animal.pk])
    assert list(tutor.animals.order_by("name").values_list("name", flat=True)) == ["Primeiro", "Segundo"]
