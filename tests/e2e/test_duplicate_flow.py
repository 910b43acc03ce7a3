"""Never twice, in a real browser: registering a tutor whose phone is already on
file shows the existing record (a link) and saves only after "É outra pessoa";
a CPF already on file links to its owner."""

from __future__ import annotations

import random
import re

import pytest

from tests.e2e.test_clinic_flow import valid_cpf
from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def fill_tutor(page, base, name, cpf, phone):
    page.goto(f"{base}/tutores/novo/")
    page.fill("#id_name", name)
    page.fill("#id_cpf", cpf)
    page.fill("#id_phone", phone)
    page.click("#save-tutor")


def test_duplicate_warning_and_cpf_clash(local_stack, page):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()
    sign_in(page, base, local_stack.password)
    phone = f"(41) 9{rnd.randrange(1000, 9999)}-{rnd.randrange(1000, 9999)}"
    cpf = valid_cpf(rnd)
    fill_tutor(page, base, "Rosângela Pires Teste", cpf, phone)
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    first_url = page.url

    # The same person typed again with the same phone: a warning, nothing saved.
    fill_tutor(page, base, "Rosangela Pires", "", phone)
    warning = page.locator("#duplicate-warning")
    warning.wait_for(state="visible")
    assert "Este tutor pode já estar cadastrado" in warning.inner_text()
    assert "mesmo telefone" in warning.inner_text()
    link = warning.locator("a.duplicate-link").first
    assert first_url.endswith(link.get_attribute("href"))
    assert "/tutores/novo/" in page.url

    # Really another person (same family phone): confirm and save.
    page.check("#id_not_duplicate")
    page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    assert page.url != first_url

    # A CPF already on file: the error links to its owner.
    fill_tutor(page, base, "Outra Pessoa Qualquer", cpf, f"(51) 9{rnd.randrange(1000, 9999)}-1234")
    clash = page.locator("#cpf-clash")
    clash.wait_for(state="visible")
    assert "Rosângela Pires Teste" in clash.inner_text()
    clash.locator("a").click()
    page.wait_for_url(first_url)
