"""The main demo, in a real browser against the local stack: sign in, register a
tutor and an animal, upload a photo through the page, see the processed
thumbnail; a text file posing as .jpg gets the pt-BR error; sign out.

SCREENSHOTS=1 saves docs/images/animal-list.png and animal-detail.png.
"""

from __future__ import annotations

import io
import os
import random
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.e2e

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
THUMB_LOADED = """sel => { const i = document.querySelector(sel);
                          return !!i && i.complete && i.naturalWidth > 0; }"""


def valid_cpf(rnd: random.Random) -> str:
    digits = [rnd.randrange(10) for _ in range(9)]
    while len(set(digits)) == 1:
        digits = [rnd.randrange(10) for _ in range(9)]
    for n in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(n + 1, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)  # a remainder of 10 counts as 0
    s = "".join(map(str, digits))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def photo_file(tmp_path: Path) -> Path:
    image = Image.new("RGB", (1200, 900), (236, 222, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((350, 200, 850, 700), fill=(190, 120, 60))  # a (very) stylised pet
    draw.ellipse((360, 120, 520, 330), fill=(150, 90, 40))
    draw.ellipse((680, 120, 840, 330), fill=(150, 90, 40))
    draw.ellipse((480, 380, 540, 440), fill=(30, 30, 30))
    draw.ellipse((660, 380, 720, 440), fill=(30, 30, 30))
    draw.ellipse((570, 500, 630, 550), fill=(60, 30, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    path = tmp_path / "aurora.jpg"
    path.write_bytes(out.getvalue())
    return path


def shoot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / name))


def test_register_upload_and_see_the_thumbnail(local_stack, page, tmp_path):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()

    # Sign in with the demo administrator the runner printed.
    page.goto(f"{base}/")
    assert "/entrar/" in page.url
    page.fill("#id_username", "admin")
    page.fill("#id_password", local_stack.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/animais/$"))

    # A tutor with a valid CPF.
    page.goto(f"{base}/tutores/novo/")
    page.fill("#id_name", "Helena Duarte Teste")
    page.fill("#id_cpf", valid_cpf(rnd))
    page.fill("#id_phone", "(11) 98765-4321")
    page.check("#id_consent_photos")  # photos need the tutor's consent (issue 16)
    page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))

    # An animal for that tutor, with a 15-digit microchip.
    microchip = "".join(str(rnd.randrange(10)) for _ in range(15))
    page.click("#new-animal-for-tutor")
    page.fill("#id_name", "Aurora")
    page.select_option("#id_species", "dog")
    page.fill("#id_microchip", microchip)
    page.click("#save-animal")
    page.wait_for_url(re.compile(r"/animais/\d+/$"))
    animal_url = page.url
    animal_id = re.search(r"/animais/(\d+)/$", animal_url).group(1)
    assert page.inner_text("#animal-microchip").replace(" ", "") == microchip

    # A real JPEG through the page's own upload control: presigned POST to the
    # local S3, S3 event -> worker -> lambda_src/handler.py, poll, thumbnail.
    page.set_input_files("#photo-input", str(photo_file(tmp_path)))
    page.wait_for_selector('#photo-gallery [data-photo-status="ok"] img.photo-thumb', timeout=30_000)
    page.wait_for_function(THUMB_LOADED, arg="#photo-gallery img.photo-thumb", timeout=30_000)
    page.evaluate("document.getElementById('fotos').scrollIntoView({block: 'end'})")
    shoot(page, "animal-detail.png")

    # The list shows it in the animal's row.
    page.goto(f"{base}/animais/")
    row_thumb = f'tr[data-animal-id="{animal_id}"] img.list-thumb'
    page.wait_for_function(THUMB_LOADED, arg=row_thumb, timeout=15_000)
    shoot(page, "animal-list.png")

    # Text named .jpg: the browser sends image/jpeg (by extension), the app's HEAD
    # check passes, the processor rejects it as unsupported -> pt-BR message.
    page.goto(animal_url)
    fake = tmp_path / "nao-e-foto.jpg"
    fake.write_text("isto não é uma foto\n" * 20, encoding="utf-8")
    page.set_input_files("#photo-input", str(fake))
    error = page.locator('#photo-gallery [data-photo-status="failed"] .photo-error')
    error.wait_for(state="visible", timeout=30_000)
    assert "Formato não suportado" in error.inner_text()

    # Sign out; the animal page now sends you to sign in.
    page.click("#logout-button")
    page.wait_for_url(re.compile(r"/entrar/"))
    page.goto(animal_url)
    assert "/entrar/" in page.url
    assert page.locator("#login-form").is_visible()
