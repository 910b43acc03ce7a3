"""The patient card / label: a QR code (SVG, generated here with segno, pure
Python) pointing at the animal's page, so a phone camera opens the record."""

from __future__ import annotations

import io

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(url: str, title: str) -> SafeString:
    """Inline SVG of a QR code for `url` (error correction M survives a worn label)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=4, border=2,
                                    title=title, svgclass="qr", lineclass=None)
    return mark_safe(out.getvalue().decode("utf-8"))  # noqa: S308 - segno's own SVG, the URL is XML-escaped by segno
