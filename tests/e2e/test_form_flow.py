"""One pass through the forms, in a real browser (dates typed as on a phone keypad): "+ Cadastrar novo tutor" from
the animal's tutor picker comes back to the animal form with the new tutor
chosen; "Salvar e cadastrar outro animal" opens a blank form for the same tutor."""

from __future__ import annotations

import random
import re

import pytest

from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def test_new_tutor_then_two_animals_in_one_pass(local_stack, page):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()
    sign_in(page, base, local_stack.password)
    name = f"Tutora Fluxo {rnd.randrange(10**6)}"

    page.goto(f"{base}/animais/novo/")
    page.click("#picker-new-tutor")
    page.wait_for_selector("#then-animal")
    page.fill("#id_name", name)
    page.fill("#id_phone", f"(62) 9{rnd.randrange(1000, 9999)}-{rnd.randrange(1000, 9999)}")
    page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/animais/novo/\?tutor=\d+$"))
    assert name in page.inner_text("#field-tutor-display")

    page.fill("#id_name", "Primeira")
    page.select_option("#id_species", "cat")
    page.click("#save-animal-another")
    page.wait_for_url(re.compile(r"/animais/novo/\?tutor=\d+$"))
    assert "Animal “Primeira” cadastrado." in page.inner_text("body")
    assert page.input_value("#id_name") == "" and name in page.inner_text("#field-tutor-display")

    page.fill("#id_name", "Segunda")
    page.select_option("#id_species", "dog")
    # a phone's numeric keypad has no "/": digits only, or dots, are accepted
    assert page.get_attribute("#id_birth_date", "inputmode") == "numeric"
    page.fill("#id_birth_date", "12032020")
    page.click("#save-animal")
    page.wait_for_url(re.compile(r"/animais/\d+/$"))
    assert "12/03/2020" in page.inner_text("body")
    page.click(f"text={name}")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    animals = page.inner_text("#tutor-animals")
    assert "Primeira" in animals and "Segunda" in animals
