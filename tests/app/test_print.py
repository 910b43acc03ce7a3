"""Print: the patient card / label with a server-side SVG QR code to the record."""

from __future__ import annotations

import io

import pytest
import segno
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_patient_card(vet_client, make_tutor, make_animal):
    tutor = make_tutor(name="Carla Nunes", phone="11912345678")
    animal = make_animal(name="Paçoca", tutor=tutor, microchip="076000000111222", breed="SRD")
    detail = vet_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert f'href="{reverse("animal_card", args=[animal.pk])}"' in detail and "Imprimir ficha" in detail

    response = vet_client.get(reverse("animal_card", args=[animal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Paçoca", "Cão · SRD", "Carla Nunes", "(11) 91234-5678", "076000000111222"):
        assert text in html
    # the QR code encodes the absolute address of the record (same matrix segno makes for it)
    url = "http://testserver" + reverse("animal_detail", args=[animal.pk])
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=4, border=2,
                                    title="t", svgclass="qr", lineclass=None)
    path = out.getvalue().decode().split(' d="', 1)[1].split('"', 1)[0]
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and path in html
    assert "<script" not in html.split('id="card-qr"', 1)[1].split("</figure>", 1)[0]


def test_card_needs_sign_in_and_an_existing_animal(client, vet_client):
    assert client.get(reverse("animal_card", args=[1])).status_code == 302
    assert vet_client.get(reverse("animal_card", args=[999999])).status_code == 404


def test_print_stylesheet_hides_the_controls():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "clinic_app/registry/static/clinic/app.css").read_text()
    block = css.split("@media print", 1)[1]
    assert ".topbar" in block and ".no-print" in block and "display: none" in block
