"""Print in a real browser: the patient card has its QR code and, in print
media, only the card is shown; the animal page prints without its controls."""

from __future__ import annotations

import pytest

from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def test_patient_card_prints_alone(local_stack, page):
    base = local_stack.url.rstrip("/")
    sign_in(page, base, local_stack.password)
    page.goto(base + page.locator("a.animal-link").first.get_attribute("href"))
    detail_url = page.url
    page.click("#print-card")
    page.wait_for_selector("#patient-card")
    qr = page.locator("#card-qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 80
    page.emulate_media(media="print")
    assert page.locator("#patient-card").is_visible()
    assert not page.locator("header.topbar").is_visible() and not page.locator(".no-print").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 1000

    page.emulate_media(media="screen")
    page.goto(detail_url)
    page.emulate_media(media="print")
    assert page.locator("#animal-data").is_visible() and not page.locator("#print-card").is_visible()
