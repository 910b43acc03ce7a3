"""Merging two tutors in a real browser, as Administração: "Mesclar com…" on the
tutor's page, the other record found with the search, the side-by-side
comparison with a choice per field, the plan, the confirmation; the survivor
then has both tutors' animals and is found by the absorbed tutor's animal.
The species choice refreshes the breed suggestions on the animal form. axe-core
checks the new pages."""

from __future__ import annotations

import random
import re

import pytest

from tests.e2e.test_accessibility import AXE, violations
from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def axe(found, name, page):
    """axe-core's serious/critical violations on this page (when axe-core is installed)."""
    if AXE.exists():
        found[name] = violations(page)


def new_tutor(page, base, name, phone):
    page.goto(f"{base}/tutores/novo/")
    page.fill("#id_name", name)
    page.fill("#id_phone", phone)
    page.click("#save-tutor")
    page.wait_for_load_state()
    if page.locator("#id_not_duplicate").count():  # a similar name already on file: it is the test's twin
        page.check("#id_not_duplicate")
        page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    return page.url


def test_merge_two_tutors_end_to_end(local_stack, browser):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()
    # bypass_csp: only so the test can inject axe (the app's CSP forbids inline scripts)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    found = {}
    try:
        sign_in(page, base, local_stack.password)
        tag = f"{rnd.randrange(10**6):06d}"
        survivor_url = new_tutor(page, base, f"Genoveva Quintanilha {tag}", f"(31) 9{tag[:4]}-{tag[2:]}")
        absorbed_url = new_tutor(page, base, f"Genoveva Quintanila {tag}", f"(31) 3{tag[:3]}-{tag[2:]}")
        absorbed_id = re.search(r"/tutores/(\d+)/$", absorbed_url).group(1)

        # An animal for the duplicate record; the breed suggestions follow the species.
        page.goto(absorbed_url)
        page.click("#new-animal-for-tutor")
        page.fill("#id_name", f"Zangão {tag}")
        page.select_option("#id_species", "cat")
        page.wait_for_function("document.getElementById('breed-options').getAttribute('data-species') === 'cat'")
        options = page.eval_on_selector_all("#breed-options option", "els => els.map(e => e.value)")
        assert "Siamês" in options and "Labrador" not in options and options[0] == "SRD (sem raça definida)"
        page.select_option("#id_species", "dog")
        options = page.eval_on_selector_all("#breed-options option", "els => els.map(e => e.value)")
        assert "Labrador" in options and "Siamês" not in options
        page.fill("#id_breed", "s.r.d.")
        page.click("#save-animal")
        page.wait_for_url(re.compile(r"/animais/\d+/$"))
        assert "SRD (sem raça definida)" in page.inner_text("#animal-data")

        # From the survivor's page: "Mesclar com…", find the other record.
        page.goto(survivor_url)
        page.click("#merge-tutor")
        page.wait_for_url(re.compile(r"/tutores/\d+/mesclar/$"))
        axe(found, "merge picker", page)
        page.fill("#id_q", f"Quintanila {tag}")
        page.click("#merge-picker button[type=submit]")
        page.locator(f'a.pick-merge[data-id="{absorbed_id}"]').click()
        page.wait_for_selector("#merge-table")
        axe(found, "merge comparison", page)

        # Side by side: keep the first record's name, the second one's phone.
        name_row = page.locator('#merge-table tr[data-field="name"]')
        assert "Genoveva Quintanilha" in name_row.inner_text() and "Genoveva Quintanila" in name_row.inner_text()
        page.check("#f_name_a")
        page.check("#f_phone_b")
        page.check("#survivor-a")
        page.click("#merge-review")
        page.wait_for_selector("#merge-plan")
        axe(found, "merge plan", page)
        plan = page.inner_text("#merge-plan")
        assert "Nada foi alterado ainda" in plan
        assert f"1 animal do cadastro nº {absorbed_id} passa para" in plan and f"Zangão {tag}" in plan
        assert "é removido" in plan
        # nothing happened yet: the other record is still there
        assert page.request.get(absorbed_url, max_redirects=0).status == 200

        page.click("#merge-confirm")
        page.wait_for_url(survivor_url)
        assert "Cadastros mesclados" in page.inner_text(".messages")
        assert f"Zangão {tag}" in page.inner_text("#tutor-animals")
        assert f"(31) 3{tag[:3]}-{tag[2:]}" in page.inner_text("#tutor-data")
        history = page.inner_text("#audit-table")
        assert "Mesclagem" in history and f"cadastro nº {absorbed_id}, mesclado" in history

        # The survivor is found by the absorbed tutor's animal; the old link leads to it.
        page.goto(f"{base}/tutores/?q=Zangão {tag}")
        rows = page.locator("#tutor-table tbody tr")
        assert rows.count() == 1 and f"Genoveva Quintanilha {tag}" in rows.first.inner_text()
        page.goto(absorbed_url)
        page.wait_for_url(survivor_url)

        # Species management is reachable from the menu.
        page.goto(f"{base}/especies/")
        axe(found, "species list", page)
        page.click('#species-table a:has-text("Gato")')
        axe(found, "species page", page)
    finally:
        context.close()
    bad = {k: v for k, v in found.items() if v}
    assert not bad, bad
