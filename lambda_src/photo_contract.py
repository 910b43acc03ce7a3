"""The agreement between the photo processor and the clinic app, defined once.

Standard library only. It ships twice from this one file: in the Lambda code
asset (it lives in lambda_src/) and in the app's wheel, where
``clinic_app/registry/photo_contract.py`` is a symbolic link to this file
(setuptools copies the target's content into the wheel). Nothing else may
restate these names, sizes or codes: import them.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- limits -------------------------------------------------------------------
MAX_BYTES = 25 * 1024 * 1024  # the presigned POST, the app's HEAD check, the processor
MAX_PIXELS = 50_000_000  # declared in the header; refused before any pixel is decoded

# --- formats ------------------------------------------------------------------
# What the processor accepts, identified by content (never by name or type).
# The labels are what people read in messages.
ACCEPTED_LABELS = ("JPEG", "PNG", "WebP", "GIF", "HEIC/HEIF", "AVIF")


# --- renditions ---------------------------------------------------------------
@dataclass(frozen=True)
class RenditionSpec:
    name: str
    box: int  # longest side (or the side of the square), in pixels
    square: bool  # centre-cropped square (grid thumbnails) or the whole photo


# Order matters: the processor makes each from the one before when it can.
RENDITIONS = (
    RenditionSpec("large", 1600, square=False),  # the full-screen view
    RenditionSpec("medium", 800, square=False),  # the full-screen view on small screens
    RenditionSpec("thumb_hd", 640, square=True),  # grid thumbnails on 2x/3x screens
    RenditionSpec("thumb", 256, square=True),  # grid thumbnails on 1x screens, lists
)
BY_NAME = {r.name: r for r in RENDITIONS}
# A manifest marked "ok" must name these; newer renditions are optional, so a
# photo processed before they existed still shows (with the ones it has).
REQUIRED = ("large", "medium", "thumb")
EXTENSION = "jpg"
CONTENT_TYPE = "image/jpeg"

# --- failure codes in a "failed" manifest ---------------------------------------
UNSUPPORTED = "unsupported"  # not one of ACCEPTED_LABELS (or a codec inside one we cannot decode)
CORRUPT = "corrupt"  # an accepted format, but damaged or truncated
TOO_LARGE = "too_large"  # over MAX_BYTES or MAX_PIXELS
ERROR_CODES = (UNSUPPORTED, CORRUPT, TOO_LARGE)
