"""Front-desk search in a real browser against the local stack: register a tutor
and an animal through the forms, then find them the ways a receptionist types
(first name + surname, animal + tutor in any order, a typo, the phone without
DDD, the CPF without punctuation, engine syntax as plain text), in the list's
search box and in the tutor picker, on a desktop and a phone viewport."""

from __future__ import annotations

import random
import re

import pytest

from tests.e2e.test_clinic_flow import valid_cpf

pytestmark = pytest.mark.e2e


def sign_in(page, base, password):
    page.goto(f"{base}/entrar/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/animais/$"))


def search_list(page, base, q) -> list[str]:
    page.goto(f"{base}/animais/")
    page.fill("#id_q", q)
    page.press("#id_q", "Enter")
    page.wait_for_selector("#result-count")
    return [t.strip() for t in page.locator("#animal-table a.animal-link").all_inner_texts()] \
        if page.locator("#animal-table").count() else []


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_find_anyone_in_one_try(local_stack, browser, viewport):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()
    context = browser.new_context(viewport=viewport, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, base, local_stack.password)
        suffix = "".join(rnd.choice("bcdfghjklmnpqrstvwxz") for _ in range(6))  # unique per run
        tutor_name = f"José Ramos da Conceição {suffix.capitalize()}"
        cpf = valid_cpf(rnd)
        phone = f"(31) 9{rnd.randrange(1000, 9999)}-{rnd.randrange(1000, 9999)}"
        page.goto(f"{base}/tutores/novo/")
        page.fill("#id_name", tutor_name)
        page.fill("#id_cpf", cpf)
        page.fill("#id_phone", phone)
        page.click("#save-tutor")
        page.wait_for_url(re.compile(r"/tutores/\d+/$"))
        page.click("#new-animal-for-tutor")
        animal_name = f"Thor{suffix}"
        page.fill("#id_name", animal_name)
        page.select_option("#id_species", "dog")
        page.click("#save-animal")
        page.wait_for_url(re.compile(r"/animais/\d+/$"))

        assert search_list(page, base, f"jose conceicao {suffix}") == [animal_name]
        assert search_list(page, base, f"{suffix} {animal_name.upper()} conceição") == [animal_name]
        assert search_list(page, base, cpf.replace(".", "").replace("-", "")) == [animal_name]
        assert search_list(page, base, phone[5:]) == [animal_name]          # without DDD
        assert "Encontrado por: telefone do tutor" in page.inner_text("#animal-table")

        typo = "Tohr" + suffix                                               # a transposition
        assert search_list(page, base, typo) == [animal_name]
        assert "Nenhum resultado exato" in page.inner_text("#search-notice")

        assert search_list(page, base, f'"{suffix}" OR *') == []           # syntax is text
        assert "Nenhum animal encontrado" in page.inner_text("#search-notice")

        # The tutor picker of "+ Novo animal" finds the same way and chooses the tutor.
        page.goto(f"{base}/animais/novo/")
        page.fill("#id_q", f"conceicao {suffix} jose")
        page.press("#id_q", "Enter")
        page.wait_for_selector("#tutor-picker-results")
        picks = page.locator("#tutor-picker-results a.pick-tutor")
        assert picks.count() == 1 and tutor_name in picks.first.inner_text()
        picks.first.click()
        page.wait_for_selector("#animal-form")
        assert tutor_name in page.inner_text("#field-tutor-display")
    finally:
        context.close()
