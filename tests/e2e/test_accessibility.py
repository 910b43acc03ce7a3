"""Accessibility with axe-core (npm, pinned in package.json) injected into each
page in Chromium, at desktop and phone sizes: no serious or critical violation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.pages import PAGES, VARIANTS
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


def overflow(page, width: int) -> list[dict]:
    """A page wider than the screen (a phone then zooms out or scrolls sideways)."""
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    return [{"id": "horizontal-overflow", "impact": "serious", "width": wide}] if wide > width else []


def _pk(href: str) -> str:
    return re.search(r"/(\d+)/$", href).group(1)


def _ids(page, base: str, size: str) -> dict[str, str]:
    """The records whose pages are checked: two animals, two tutors, a species,
    and a staff person created here (one per viewport: usernames are unique)."""
    page.goto(f"{base}/animais/")
    animals = [_pk(a.get_attribute("href")) for a in page.locator("a.animal-link").all()[:2]]
    tutors = list(dict.fromkeys(_pk(a.get_attribute("href"))
                                for a in page.locator("#animal-table tbody tr td:nth-child(5) a").all()))[:2]
    username = f"axe.{size}"
    page.goto(f"{base}/administracao/equipe/nova/")
    page.fill("#id_username", username)
    page.fill("#id_first_name", "Acessível")
    page.check("input[name=role][value='Recepção']")
    page.check("input[name=password_mode][value=gerar]")
    page.click("#staff-form button[type=submit]")
    page.goto(f"{base}/administracao/equipe/")
    edit = page.locator("tr", has_text=username).locator("a", has_text="Editar").get_attribute("href")
    return {"animal": animals[0], "other_animal": animals[1], "tutor": tutors[0], "other_tutor": tutors[1],
            "species": "dog", "person": _pk(edit)}


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
        page.goto(base + PAGES["login"])
        found["login"] = violations(page)
        sign_in(page, base, local_stack.password)
        ids = _ids(page, base, size)
        paths = {name: path.format(**ids) for name, path in PAGES.items() if name != "login"}
        paths.update({name: path.format(**ids) for name, path in VARIANTS.items()})
        for name, path in paths.items():
            page.goto(base + path)
            found[name] = violations(page) + overflow(page, VIEWPORTS[size]["width"])
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
