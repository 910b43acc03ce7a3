"""Photos from a phone, in Chromium at phone size (390x844, 3x screen, touch),
against the real local stack: the upload button on the first screen, a broken
file that gets its own pt-BR message and never becomes the principal photo,
three photos (JPEG, HEIC, AVIF) chosen at once reaching a 2-per-row grid with
thumbnails sized for a 3x screen, and a tap opening the large view (swipe and
arrow keys move between photos, Esc closes)."""

from __future__ import annotations

import json
import re

import pytest

from tests.processor import photo_factory as pf  # the processor tests' own image maker

from .test_clinic_flow import THUMB_LOADED, shoot, valid_cpf

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True,
                                  locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def sign_in_and_make_animal(page, stack, name: str) -> str:
    import random

    base = stack.url.rstrip("/")
    page.goto(f"{base}/entrar/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", stack.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/animais/$"))
    page.goto(f"{base}/tutores/novo/")
    page.fill("#id_name", "Paula Telefone Teste")
    page.fill("#id_cpf", valid_cpf(random.Random()))
    page.fill("#id_phone", "(11) 91234-5678")
    page.check("#id_consent_photos")  # photos need the tutor's consent (issue 16)
    page.click("#save-tutor")
    page.wait_for_load_state()
    if page.locator("#duplicate-warning").count():  # issue 15: the same tutor from an earlier test
        page.check("#id_not_duplicate")            # "É outra pessoa": this test's own tutor
        page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    page.click("#new-animal-for-tutor")
    page.fill("#id_name", name)
    page.select_option("#id_species", "cat")
    page.click("#save-animal")
    page.wait_for_url(re.compile(r"/animais/\d+/$"))
    return page.url


def cards(page, status=None):
    sel = "#photo-gallery .photo-card" + (f'[data-photo-status="{status}"]' if status else "")
    return page.locator(sel)


def test_phone_upload_grid_viewer_and_a_broken_file(local_stack, phone, tmp_path):
    page = phone
    animal_url = sign_in_and_make_animal(page, local_stack, "Mingau")

    # The upload button is on the first screen of the animal page.
    box = page.locator("#photo-pick-top").bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"], box
    assert page.locator("#photo-camera").get_attribute("capture") == "environment"
    assert page.locator("#photo-input").get_attribute("multiple") is not None

    # A broken photo first (the animal has no principal photo yet): it fails
    # with the "corrupt" message and does not become the principal one.
    broken = tmp_path / "IMG_0001.jpg"
    broken.write_bytes(pf.phone_jpeg(6, display=(900, 1200))[:3000])
    page.set_input_files("#photo-input", str(broken))
    error = cards(page, "failed").locator(".photo-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "corrompido" in error.inner_text() and "não suportado" not in error.inner_text()
    assert cards(page, "failed").get_attribute("data-primary") is None

    # Three photos chosen at once, in the formats phones write.
    files = {"gato.jpg": pf.phone_jpeg(6, display=(1500, 2000)),
             "IMG_0002.HEIC": pf.heic(display=(1600, 1200), orientation=6),
             "PXL_0003.avif": pf.avif(display=(1600, 1200))}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    page.set_input_files("#photo-input", paths)
    page.wait_for_function("() => document.querySelectorAll("
                           "'#photo-gallery .photo-card[data-photo-status=\"ok\"] img.photo-thumb').length === 3",
                           timeout=60_000)
    for i in range(3):
        page.wait_for_function(THUMB_LOADED, arg=f'#photo-gallery .photo-card[data-photo-status="ok"]'
                                                 f':nth-child({i + 2}) img.photo-thumb', timeout=20_000)
    assert cards(page).count() == 4  # the queue went on past the failed file

    # Thumbnails: the browser picked the 640-px rendition for a 3x screen, with the animal's name as alt.
    thumbs = page.locator('#photo-gallery .photo-card[data-photo-status="ok"] img.photo-thumb')
    for i in range(3):
        src = thumbs.nth(i).evaluate("img => img.currentSrc")
        assert "/thumb_hd.jpg" in src, src
        assert thumbs.nth(i).get_attribute("alt") == "Foto de Mingau"

    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "animal-detail-phone.png")  # SCREENSHOTS=1 (make screenshots): name, photo, buttons
    page.evaluate("document.getElementById('fotos').scrollIntoView({block: 'start'})")
    shoot(page, "animal-photos-phone.png")  # the grid

    # Two per row on a phone.
    boxes = [cards(page).nth(i).bounding_box() for i in range(4)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[2]["y"] > boxes[0]["y"] + boxes[0]["height"] - 2
    assert boxes[0]["width"] > 150  # two columns, not one per row nor a strip of tiny ones

    # The principal photo is a processed one, never the failed file, shown beside the name.
    primary = page.locator('#photo-gallery .photo-card[data-primary="1"]')
    assert primary.count() == 1 and primary.get_attribute("data-photo-status") == "ok"
    assert page.locator("#head-photo-slot img").get_attribute("alt") == "Foto principal de Mingau"
    offers = page.locator("#photo-gallery .photo-set-primary")
    assert offers.count() == 2 and all(offers.nth(i).is_visible() for i in range(2))  # the other two processed
    assert cards(page, "failed").locator(".photo-set-primary").count() == 0

    # Tap opens the large view; swipe and arrow keys move; Esc closes.
    thumbs.nth(0).tap()
    viewer = page.locator("#photo-viewer")
    viewer.wait_for(state="visible")
    page.wait_for_function(THUMB_LOADED, arg="#photo-viewer .viewer-img")
    assert re.search(r"/(large|medium)\.jpg", page.locator(".viewer-img").evaluate("i => i.currentSrc"))
    assert page.inner_text(".viewer-caption") == "Foto 1 de 3"
    page.mouse.move(300, 400)
    page.mouse.down()
    page.mouse.move(120, 410, steps=5)
    page.mouse.up()
    assert page.inner_text(".viewer-caption") == "Foto 2 de 3"
    page.keyboard.press("ArrowRight")
    assert page.inner_text(".viewer-caption") == "Foto 3 de 3"
    page.keyboard.press("ArrowLeft")
    assert page.inner_text(".viewer-caption") == "Foto 2 de 3"
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")

    # After a reload the server agrees: three processed photos, one principal, the failed one not it.
    page.goto(animal_url)
    assert cards(page, "ok").count() == 3 and cards(page, "failed").count() == 1
    assert cards(page, "failed").get_attribute("data-primary") is None
    assert page.locator('#photo-gallery .photo-card[data-primary="1"][data-photo-status="ok"]').count() == 1


def test_polling_stops_when_final_and_deleted_or_signed_out_cards_say_so(local_stack, browser, tmp_path):
    """The status poller (issue 13, browser side). Three processed photos; the
    page is then served with all three cards marked pending (as if loaded while
    processing) so the real status API answers them:
    - finished cards stop polling (it used to poll forever from the 2nd card on);
    - a photo deleted meanwhile by someone else gets "Esta foto foi excluída.";
    - with the session gone, pending cards say so in pt-BR and polling stops."""
    context = browser.new_context(viewport=PHONE, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        animal_url = sign_in_and_make_animal(page, local_stack, "Pipoca")
        paths = []
        for i in range(3):
            (tmp_path / f"p{i}.jpg").write_bytes(pf.plain_jpeg(size=(800, 600), color=(40 * i, 90, 160)))
            paths.append(str(tmp_path / f"p{i}.jpg"))
        page.set_input_files("#photo-input", paths)
        page.wait_for_function("() => document.querySelectorAll("
                               "'#photo-gallery .photo-card[data-photo-status=\"ok\"]').length === 3",
                               timeout=60_000)
        ids = cards(page).evaluate_all("cs => cs.map(c => c.dataset.photoId)")

        stale = {}

        def as_pending(route):
            """The page as loaded while all three were processing (kept: later
            loads get this same page, as a tab opened before a change would)."""
            if "html" not in stale:
                stale["html"] = route.fetch().text().replace('data-photo-status="ok"', 'data-photo-status="pending"')
            route.fulfill(body=stale["html"], headers={"content-type": "text/html; charset=utf-8"})

        polls = []
        page.route(re.compile(r"/animais/\d+/$"), as_pending)
        page.on("request", lambda r: polls.append(r.url) if "/api/fotos/" in r.url else None)

        # 1. Finished cards stop polling.
        page.goto(animal_url)
        page.wait_for_function("() => !document.querySelector('#photo-gallery [data-photo-status=\"pending\"]')")
        page.wait_for_timeout(3000)  # long enough for several more polls if any were still running
        assert sorted(polls) == sorted({u for u in polls}) and len(polls) == 3, polls

        # 2. Someone else deletes a photo while this page polls it.
        other = context.new_page()
        other.goto(animal_url)
        other.on("dialog", lambda d: d.accept())
        other.locator(f'[data-photo-id="{ids[0]}"] .photo-delete').click()
        other.wait_for_url(re.compile(r"#fotos$"))
        other.close()
        page.goto(animal_url)  # the page from before the deletion, all three pending
        gone = page.locator(f'#photo-gallery [data-photo-id="{ids[0]}"]')
        page.locator(f'#photo-gallery [data-photo-id="{ids[0]}"][data-photo-status="deleted"]').wait_for()
        assert gone.locator(".photo-state").inner_text() == "Esta foto foi excluída."
        assert gone.locator("form").count() == 0  # no delete/principal actions left on it

        # 3. The session ends (signed out elsewhere, expired): a pt-BR message, no endless "processando…".
        context.clear_cookies()
        page.goto(animal_url)  # the page is still on screen; its session is not
        page.wait_for_function("() => document.querySelector('#photo-upload-status').textContent.length > 0")
        assert "sessão expirou" in page.inner_text("#photo-upload-status")
        assert "sessão expirou" in cards(page).nth(0).locator(".photo-state").inner_text()
        polls.clear()
        page.wait_for_timeout(2500)
        assert polls == []  # stopped
    finally:
        context.close()


def test_desktop_viewer_by_keyboard(local_stack, page, tmp_path):
    """On a desktop, keyboard only: a thumbnail link takes focus, Enter opens the
    large view, arrows move, Esc closes and focus returns to the thumbnail."""
    sign_in_and_make_animal(page, local_stack, "Teclado")
    paths = []
    for i in range(2):
        (tmp_path / f"k{i}.png").write_bytes(pf._save(pf.marked(900, 600), "PNG"))
        paths.append(str(tmp_path / f"k{i}.png"))
    page.set_input_files("#photo-input", paths)
    page.wait_for_function("() => document.querySelectorAll("
                           "'#photo-gallery .photo-card[data-photo-status=\"ok\"] a.photo-large-link').length === 2",
                           timeout=60_000)
    first = page.locator("#photo-gallery a.photo-large-link").first
    first.focus()
    page.keyboard.press("Enter")
    page.locator("#photo-viewer").wait_for(state="visible")
    assert page.inner_text(".viewer-caption") == "Foto 1 de 2"
    assert page.evaluate("document.activeElement.closest('#photo-viewer') !== null")  # focus moved into the dialog
    page.keyboard.press("ArrowRight")
    assert page.inner_text(".viewer-caption") == "Foto 2 de 2"
    page.keyboard.press("ArrowRight")
    assert page.inner_text(".viewer-caption") == "Foto 1 de 2"  # wraps around
    page.keyboard.press("Escape")
    page.locator("#photo-viewer").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('photo-large-link')")


def test_network_error_gets_a_retry_and_the_queue_goes_on(local_stack, phone, tmp_path):
    """The first file's POST to S3 fails (network); the second one still goes
    through; "Tentar de novo" then sends the first one."""
    page = phone
    sign_in_and_make_animal(page, local_stack, "Rede")
    failures = {"left": 1}

    def flaky(route):
        if route.request.method == "POST" and failures["left"] > 0:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{local_stack.endpoint}/**", flaky)
    paths = []
    for i in range(2):
        (tmp_path / f"n{i}.jpg").write_bytes(pf.plain_jpeg(size=(800, 600), color=(30 * i, 120, 90)))
        paths.append(str(tmp_path / f"n{i}.jpg"))
    page.set_input_files("#photo-input", paths)
    failed = page.locator('#photo-gallery .photo-card[data-photo-status="upload-failed"]')
    failed.wait_for()
    assert "Falha de rede" in failed.locator(".photo-state").inner_text()
    page.locator('#photo-gallery .photo-card[data-photo-status="ok"]').wait_for(timeout=60_000)  # the other one
    failed.locator("button.photo-retry").click()
    page.wait_for_function("() => document.querySelectorAll("
                           "'#photo-gallery .photo-card[data-photo-status=\"ok\"]').length === 2", timeout=60_000)
    assert cards(page).count() == 2


def test_a_failed_confirm_is_retried_without_uploading_again(local_stack, phone, tmp_path):
    page = phone
    sign_in_and_make_animal(page, local_stack, "Confirma")
    s3_posts = []
    page.on("request", lambda r: s3_posts.append(r.url)
            if r.method == "POST" and r.url.startswith(local_stack.endpoint) else None)
    first = {"done": False}

    def confirm_once_down(route):
        if not first["done"]:
            first["done"] = True
            route.fulfill(status=503, content_type="application/json",
                          body='{"error": "Armazenamento de fotos indisponível. Tente novamente em instantes."}')
        else:
            route.continue_()

    page.route(re.compile(r"/fotos/confirm$"), confirm_once_down)
    (tmp_path / "c.jpg").write_bytes(pf.plain_jpeg(size=(800, 600)))
    page.set_input_files("#photo-input", str(tmp_path / "c.jpg"))
    failed = page.locator('#photo-gallery .photo-card[data-photo-status="upload-failed"]')
    failed.wait_for()
    assert "indisponível" in failed.locator(".photo-state").inner_text()
    failed.locator("button.photo-retry").click()
    page.locator('#photo-gallery .photo-card[data-photo-status="ok"]').wait_for(timeout=60_000)
    assert len(s3_posts) == 1 and cards(page).count() == 1


def test_a_file_over_the_limit_is_refused_in_the_page_with_the_contracts_figure(local_stack, phone, tmp_path):
    """photos.js reads the limit and the accepted formats from the server (the page's
    photo-upload-config, built from photo_contract) and says them; nothing is sent."""
    from lambda_src import photo_contract

    page = phone
    sign_in_and_make_animal(page, local_stack, "Grande")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "presign" in r.url else None)
    big = tmp_path / "grande.jpg"
    with big.open("wb") as f:
        f.write(pf.plain_jpeg(size=(64, 48)))
        f.truncate(photo_contract.MAX_BYTES + 1)
    page.set_input_files("#photo-input", str(big))
    failed = page.locator('#photo-gallery .photo-card[data-photo-status="upload-failed"]')
    failed.wait_for()
    assert failed.locator(".photo-state").inner_text() == \
        f"A foto deve ter no máximo {photo_contract.MAX_MEGABYTES} MB."
    # a file that is not an image: the server's message, naming the contract's formats
    config = json.loads(page.locator("#photo-upload-config").text_content())
    (tmp_path / "receita.pdf").write_bytes(b"%PDF-1.4 not a photo")
    page.set_input_files("#photo-input", str(tmp_path / "receita.pdf"))
    page.wait_for_function("document.querySelectorAll("
                           "'#photo-gallery .photo-card[data-photo-status=\"upload-failed\"]').length === 2")
    states = page.locator('#photo-gallery .photo-card[data-photo-status="upload-failed"] .photo-state').all_inner_texts()
    shown = next(text for text in states if "MB" not in text)
    assert shown == config["messages"]["format"]
    assert all(label in shown for label in photo_contract.ACCEPTED_LABELS)
    assert posts == []
