"""Accessibility with axe-core (npm, pinned in package.json) injected into each
page in Chromium, at desktop and phone sizes: no serious or critical violation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_no_serious_violation_on_any_page(local_stack, browser, size):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: npm install (package.json)")
    base = local_stack.url.rstrip("/")
    # bypass_csp: only so the test can inject axe (the app's CSP forbids inline scripts)
    context = browser.new_context(viewport=VIEWPORTS[size], locale="pt-BR", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    found = {}
    try:
        page.goto(f"{base}/entrar/")
        found["login"] = violations(page)
        sign_in(page, base, local_stack.password)
        page.goto(f"{base}/animais/")
        animal_url = page.locator("a.animal-link").first.get_attribute("href")
        tutor_url = page.locator("#animal-table tbody tr td:nth-child(5) a").first.get_attribute("href")
        pages = {
            "animal list": "/animais/", "animal search": "/animais/?q=Tohr",
            "animal page": animal_url, "animal edit": animal_url + "editar/", "patient card": animal_url + "ficha/",
            "tutor list": "/tutores/", "tutor page": tutor_url, "tutor edit": tutor_url + "editar/",
            "new tutor": "/tutores/novo/", "tutor picker": "/animais/novo/?q=silva",
            # LGPD (issue 16): the data subject's report and the anonymisation's confirmation
            "data report": tutor_url + "dados/", "erase confirmation": tutor_url + "anonimizar/",
            "staff list": "/administracao/equipe/", "new staff": "/administracao/equipe/nova/",
            "audit trail": "/administracao/auditoria/", "audit trail, errors": "/administracao/auditoria/?de=x",
            "own password": "/conta/senha/",
        }
        for name, path in pages.items():
            page.goto(base + path)
            found[name] = violations(page)
        page.goto(f"{base}/tutores/novo/")
        page.click("#save-tutor")  # a failed submit: the page with its error messages
        page.wait_for_url(re.compile(r"/tutores/novo/$"))
        found["new tutor, errors"] = violations(page)
    finally:
        context.close()
    bad = {k: v for k, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)


FOCUS_RING = """() => { const s = getComputedStyle(document.activeElement);
                        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""


def test_keyboard_skip_link_focus_and_error_summary(local_stack, page):
    base = local_stack.url.rstrip("/")
    sign_in(page, base, local_stack.password)

    # The first Tab reaches the skip link, which is visible when focused and leads to the content
    # (on a page without a search box: those start in the box).
    page.goto(f"{base}/animais/")
    page.goto(base + page.locator("a.animal-link").first.get_attribute("href"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    assert page.locator("#skip-link").is_visible() and page.evaluate(FOCUS_RING)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "conteudo"

    # A form starts in its first field; every control shows a focus ring when reached with
    # the keyboard (inputs, selects, textarea, buttons, links).
    page.goto(f"{base}/tutores/novo/")
    assert page.evaluate("document.activeElement.id") == "id_name"
    seen = set()
    for _ in range(24):  # the form's fields, its consent choices (issue 16), then its buttons
        tag = page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id")
        if tag.startswith("BODY"):  # past the last control of the page
            break
        seen.add(tag.split("#")[0])
        assert page.evaluate(FOCUS_RING), f"no focus ring on {tag}"
        page.keyboard.press("Tab")
    assert {"INPUT", "SELECT", "TEXTAREA", "BUTTON", "A"} <= seen, seen
    page.goto(f"{base}/tutores/novo/")
    page.click("#save-tutor")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.inner_text("#error-summary")
    assert "Não foi possível salvar" in summary and "Nome" in summary
    page.click("#error-summary a[href='#id_name']")
    assert page.evaluate("location.hash") == "#id_name"
