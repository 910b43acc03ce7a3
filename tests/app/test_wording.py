"""pt-BR as a careful native writer would: agreement with the animal's sex,
weights without trailing zeros, "aproximada" said once, no bare "e meses"
label, no "---------" empty choices, one spelling of "e-mail", a message after
signing out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from registry.forms import AnimalForm, TutorForm
from registry.models import Animal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("sex", "word"), [("female", "castrada"), ("male", "castrado"), ("unknown", "castrado(a)")])
def test_neutered_agrees_with_sex(reception_client, make_animal, sex, word):
    animal = make_animal(sex=sex, neutered=True)
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert f" · {word}</dd>" in html


@pytest.mark.parametrize(("kg", "shown"), [("4.200", "4,2 kg"), ("0.350", "0,35 kg"), ("12", "12 kg"),
                                           ("1200.5", "1.200,5 kg"), ("0.001", "0,001 kg")])
def test_weight_without_trailing_zeros(reception_client, make_animal, kg, shown):
    animal = make_animal(weight_kg=Decimal(kg))
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert f"<dd>{shown}</dd>" in html


def test_estimated_age_said_once(reception_client, make_animal):
    animal = make_animal(birth_date=Animal.estimated_birth_date(3, 2), birth_date_estimated=True)
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert "(aproximada) · cerca de 3 anos e 2 meses" in html
    assert "estimada)" not in html


def test_form_labels_and_empty_choices(reception_client, make_tutor):
    animal_form, tutor_form = AnimalForm(), TutorForm()
    assert animal_form.fields["age_months"].label != "e meses"
    for form in (animal_form, tutor_form):
        for field in form.fields.values():
            assert "---------" not in str(getattr(field, "choices", "")), field.label
    tutor = make_tutor()
    html = reception_client.get(reverse("animal_create"), {"tutor": tutor.pk}).content.decode()
    assert "---------" not in html and "Escolha a espécie" in html
    html = reception_client.get(reverse("tutor_create")).content.decode()
    assert "---------" not in html


def test_one_spelling_of_e_mail(reception_client):
    response = reception_client.post(reverse("tutor_create"), {"name": "Ana Souza", "phone": "11987654321",
                                                               "email": "ana@", "uf": ""})
    html = response.content.decode()
    assert "Informe um e-mail válido" in html
    text = html.replace("e-mail", "").replace("E-mail", "")
    assert "email válido" not in text and ">Email<" not in text and "Endereço de email" not in text


def test_message_after_signing_out(reception_client):
    response = reception_client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Você saiu do sistema." in response.content.decode()


@pytest.mark.parametrize("typed", ["12032020", "12/03/2020", "12.03.2020", "12-03-2020", "12 03 2020",
                                   " 12/3/2020 ", "2020-03-12"])
def test_dates_typed_any_way_a_phone_allows(reception_client, make_tutor, typed):
    import datetime

    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}", {
        "tutor": tutor.pk, "name": "Datado", "species": "dog", "sex": "male", "birth_date": typed})
    assert response.status_code == 302, response.context["form"].errors
    assert Animal.objects.get(name="Datado").birth_date == datetime.date(2020, 3, 12)


@pytest.mark.parametrize("typed", ["1203202", "32/03/2020", "12/13/2020", "12032020x"])
def test_bad_dates_get_a_message(reception_client, make_tutor, typed):
    tutor = make_tutor()
    response = reception_client.post(reverse("animal_create") + f"?tutor={tutor.pk}", {
        "tutor": tutor.pk, "name": "Datado", "species": "dog", "sex": "male", "birth_date": typed})
    assert response.status_code == 200 and "birth_date" in response.context["form"].errors
    assert 'inputmode="numeric"' in response.content.decode()
