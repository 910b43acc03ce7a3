"""photos.js takes the photo limits, accepted types and their messages from the
page (registry.photos.upload_config, built from photo_contract), never from a
copy of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.urls import reverse
from registry import photo_contract as contract

PHOTOS_JS = Path(__file__).resolve().parents[2] / "clinic_app" / "registry" / "static" / "clinic" / "photos.js"


def page_config(client, animal) -> dict:
    html = client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    match = re.search(r'<script id="photo-upload-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the animal page embeds no upload configuration"
    return json.loads(match.group(1))


def test_the_page_embeds_the_contracts_limits_and_formats(reception_client, make_animal):
    config = page_config(reception_client, make_animal())
    assert config["max_bytes"] == contract.MAX_BYTES
    assert config["messages"]["big"] == f"A foto deve ter no máximo {contract.MAX_MEGABYTES} MB."
    assert all(label in config["messages"]["format"] for label in contract.ACCEPTED_LABELS)
    assert config["messages"]["empty"] == "O arquivo está vazio."
    assert config["types"]["heic"] == "image/heic" and config["types"]["avif"] == "image/avif"


def test_the_limit_on_the_page_follows_the_setting(reception_client, make_animal, settings):
    settings.PHOTO_MAX_BYTES = 3 * 1024 * 1024
    assert page_config(reception_client, make_animal())["max_bytes"] == 3 * 1024 * 1024


def test_the_picker_accepts_every_known_extension(reception_client, make_animal):
    html = reception_client.get(reverse("animal_detail", args=[make_animal().pk])).content.decode()
    accept = re.search(r'id="photo-input" accept="([^"]+)"', html).group(1).split(",")
    assert accept[0] == "image/*" and {".heic", ".heif", ".avif", ".jpg"} <= set(accept)


def test_photos_js_restates_no_limit_format_or_message():
    code = "\n".join(re.sub(r"\s//\s.*$", "", line) for line in PHOTOS_JS.read_text(encoding="utf-8").splitlines()
                     if not line.strip().startswith(("//", "*", "/*")))  # comments may explain freely
    copies = [label for label in (*contract.ACCEPTED_LABELS, "image/heic", "image/jpeg") if label in code]
    copies += re.findall(r"\b(?:25|26214400|1024 \* 1024)\b|\bMB\b|está vazio|não suportado", code)
    assert copies == []
