"""Pure image work for the photo processor: bytes in, renditions out.

No S3 and no boto3 here, so this module can be tested and benchmarked
directly. The handler (handler.py) does the S3 glue.

Pipeline (one decode for all renditions):

1. Sniff and identify by content (JPEG, PNG, WebP, GIF only); read the
   dimensions from the header and refuse anything over ``MAX_PIXELS`` before a
   single pixel is decoded.
2. JPEG: ``draft()`` asks libjpeg for DCT-domain scaling (1/2, 1/4, 1/8) to the
   smallest size still >= what the renditions need, then one decode.
3. Normalise the mode (palette, 16-bit, alpha flattened on white, CMYK kept
   for the ICC transform), resize to ``large`` in the stored orientation, then
   apply the EXIF orientation and the ICC -> sRGB conversion on that smaller
   image, then a light sharpen.
4. ``medium`` is made from ``large`` and ``thumb`` from the smallest rendition
   that still covers it (a chain, never another decode).
5. Encode as baseline-optimised JPEG with no EXIF, no XMP, no comment and no
   ICC profile (the pixels are sRGB, which is what browsers assume).
"""

from __future__ import annotations

import io
import struct
import time
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageFile, ImageFilter

PROCESSOR_VERSION = "1.0.0"

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 50_000_000
MAX_BYTES = 25 * 1024 * 1024

LARGE = 1600
MEDIUM = 800
THUMB = 256

JPEG_QUALITY = 82
CONTENT_TYPE = "image/jpeg"
EXTENSION = "jpg"

# Pillow's own bomb check as a backstop to ours: it warns above this and
# raises above twice this. We turn the warning into an error below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A truncated file must fail, never be padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Light sharpen after each downscale: 1.5 x centre - 0.125 x each 4-neighbour.
# A 3x3 kernel costs about a third of UnsharpMask (which blurs first) for a
# similar look at this strength.
_SHARPEN = ImageFilter.Kernel((3, 3), (0, -1, 0, -1, 12, -1, 0, -1, 0), scale=8)
_WHITE = (255, 255, 255)

# EXIF orientation -> transpose op (applied to the stored pixels).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(Exception):
    """The file can never become renditions. ``code`` is for the app."""

    def __init__(self, code: str, message: str, source: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.source = source or {}


@dataclass
class Rendition:
    name: str
    data: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE


@dataclass
class Result:
    format: str
    width: int  # after orientation
    height: int  # after orientation
    renditions: list[Rendition]
    timings_ms: dict[str, float] = field(default_factory=dict)


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Size that fits ``box``x``box`` keeping the aspect ratio; never upscales."""
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumb_side(width: int, height: int) -> int:
    """The thumb is a centre-cropped square: 256, or the shorter side if smaller."""
    return min(THUMB, width, height)


# --------------------------------------------------------------------- sniffing

def _webp_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP header, read before libwebp sees the file.

    Pillow's WebP plugin hands the whole file to libwebp's demuxer on open,
    which allocates the canvas, so we check the size ourselves first.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _magic(data: bytes) -> str | None:
    """The accepted format a file claims by its signature, if any."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _check_pixels(fmt: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            "too_large",
            f"The image is {width}x{height} pixels "
            f"({width * height / 1e6:.0f} megapixels); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels.",
            {"format": fmt, "width": width, "height": height},
        )


def open_image(data: bytes) -> Image.Image:
    """Identify by content and check the header size. Decodes no pixels."""
    if not data:
        raise ImageRejected("corrupt", "The file is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise ImageRejected(
            "too_large",
            f"The file is {len(data) / 2**20:.1f} MB; the limit is "
            f"{MAX_BYTES / 2**20:.0f} MB.",
        )
    webp = _webp_size(data)
    if webp:
        _check_pixels("WEBP", *webp)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.UnidentifiedImageError:
        fmt = _magic(data)
        if fmt:  # right signature, but no plugin could parse the header
            raise ImageRejected(
                "corrupt", f"The file looks like a {fmt} but its header is damaged."
            ) from None
        raise ImageRejected(
            "unsupported",
            "The file is not a supported image (JPEG, PNG, WebP or GIF).",
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        fmt, size = _declared_size(data)
        if size:
            _check_pixels(fmt, *size)
        raise ImageRejected(
            "too_large",
            f"The image has more than {MAX_PIXELS / 1e6:.0f} megapixels.",
        ) from None
    except Exception:  # noqa: BLE001 - any parser error on a hostile header is "corrupt"
        raise ImageRejected(
            "corrupt", "The image header is damaged and cannot be read."
        ) from None
    _check_pixels(im.format, *im.size)
    return im


def _declared_size(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """Format and size from the header of a file Pillow refused as a bomb.

    Only for the error message: Image.open reads the header, never the pixels,
    so lifting the limit for this one call is safe.
    """
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as im:
            return im.format, im.size
    except Exception:  # noqa: BLE001 - only for a nicer message
        return None, None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


# --------------------------------------------------------------------- decoding

def _needed_scale(width: int, height: int) -> float:
    """Largest fraction of the stored image any rendition needs (<= 1)."""
    large = min(1.0, LARGE / max(width, height))
    thumb = min(1.0, THUMB / min(width, height))  # thumb covers the short side
    return max(large, thumb)


def _decode(im: Image.Image) -> Image.Image:
    """One decode, DCT-scaled for JPEG. Raises ImageRejected('corrupt')."""
    if im.format == "JPEG":
        s = _needed_scale(*im.size)
        want = (max(1, int(im.width * s + 0.999)), max(1, int(im.height * s + 0.999)))
        mode = "RGB" if im.mode in ("RGB", "YCbCr") else None
        im.draft(mode, want)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            "too_large", f"The image has more than {MAX_PIXELS / 1e6:.0f} megapixels."
        ) from None
    except Exception:  # noqa: BLE001 - a bad file must never raise out of the handler
        raise ImageRejected(
            "corrupt", "The image data is truncated or damaged and cannot be decoded."
        ) from None
    return im


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not fail a good photo
        return 1
    return value if value in _ORIENTATION else 1


def _flatten(im: Image.Image) -> Image.Image:
    """Any decoded mode -> RGB, L or CMYK, 8-bit, no alpha (alpha on white)."""
    if im.mode in ("RGB", "L", "CMYK") and "transparency" not in im.info:
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit grey: scale to 8 bits (a plain convert would clip at 255).
        # point() on I;16 maps through a lookup table, without the 32-bit copy.
        return im.point(lambda v: v / 256, "L").convert("L")
    if im.mode == "I":
        return im.point(lambda v: v / 256, "L")
    if im.mode == "1":
        return im.convert("L")
    if im.mode == "P" and "transparency" not in im.info and im.palette.mode == "RGB":
        return im.convert("RGB")
    if im.mode not in ("RGBA", "LA", "PA", "RGBa", "La"):
        if "transparency" in im.info or im.mode == "P":
            im = im.convert("RGBA")
        else:
            return im.convert("RGB")
    if im.mode != "RGBA":
        im = im.convert("RGBA")
    if im.getextrema()[3][0] == 255:  # alpha channel present but fully opaque
        return im.convert("RGB")
    background = Image.new("RGB", im.size, _WHITE)
    background.paste(im, mask=im)  # an RGBA mask means "use its alpha"
    return background


def _is_srgb(icc: bytes) -> bool:
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(profile) or ""
    except (OSError, ImageCms.PyCMSError):
        return False
    return "srgb" in desc.lower().replace(" ", "")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to 8-bit sRGB RGB, through the embedded ICC profile if any."""
    if icc and not (im.mode == "RGB" and _is_srgb(icc)):
        from PIL import ImageCms

        try:
            return ImageCms.profileToProfile(
                im,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except (OSError, ValueError, ImageCms.PyCMSError):
            pass  # broken or unsupported profile: plain conversion below
    return im if im.mode == "RGB" else im.convert("RGB")


def _encode(im: Image.Image) -> bytes:
    im.info = {}  # no EXIF, XMP, comment or ICC may travel to the output
    out = io.BytesIO()
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"")
    return out.getvalue()


def _resize(im: Image.Image, size: tuple[int, int], box=None, gap: float = 2.0) -> Image.Image:
    """LANCZOS, after an integer box reduce() while the ratio exceeds ``gap``.

    gap=2.0 (large, from the decoded image) keeps the final LANCZOS pass over
    at least 2x the output; gap=1.0 (the chain: medium from large, thumb from
    medium) lets a ~2x step be a plain 2x2 box average, which is ten times
    faster than LANCZOS and, followed by the sharpen, looks the same at that size.
    """
    return im.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=gap)


def _centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


# --------------------------------------------------------------------- pipeline

def process(data: bytes) -> Result:
    """Make the large, medium and thumb renditions of an uploaded image.

    Raises ImageRejected(code, message) for anything that is not a usable
    photo; any other exception is a bug.
    """
    t = {}
    t0 = time.perf_counter()
    im = open_image(data)
    fmt = im.format
    icc = im.info.get("icc_profile")
    src_w, src_h = im.size  # as stored, from the header (before any draft)
    t["open"] = time.perf_counter()

    orientation = _orientation(_decode(im))
    drafted = im.size != (src_w, src_h)  # JPEG decoded at 1/2, 1/4 or 1/8
    t["decode"] = time.perf_counter()
    base = _flatten(im)
    del im  # only `base` stays alive: a big PNG is not held twice
    swap = orientation in (5, 6, 7, 8)
    transpose = _ORIENTATION.get(orientation)

    if swap:
        src_w, src_h = src_h, src_w

    def finish(img: Image.Image) -> Image.Image:
        if transpose is not None:
            img = img.transpose(transpose)
        return _to_srgb(img, icc)

    renditions: list[Rendition] = []

    # large: from the decoded base, in stored orientation, then orient + sRGB.
    lw, lh = fit(src_w, src_h, LARGE)
    stored_target = (lh, lw) if swap else (lw, lh)
    if base.size != stored_target:
        large = _sharpen(finish(_resize(base, stored_target)))
    else:  # already the right size: a small original, or an exact DCT scale
        large = _sharpen(finish(base)) if drafted else finish(base)
    t["large"] = time.perf_counter()

    # medium: from large.
    mw, mh = fit(src_w, src_h, MEDIUM)
    medium = _sharpen(_resize(large, (mw, mh), gap=1.0)) if large.size != (mw, mh) else large
    t["medium"] = time.perf_counter()

    # thumb: from the smallest image whose short side still covers it.
    side = thumb_side(src_w, src_h)
    for candidate in (medium, large):
        if min(candidate.size) >= side:
            thumb = _square(candidate, side)
            break
    else:
        box = _centre_square(*base.size)
        thumb = finish(_resize(base, (side, side), box=box))
        thumb = _sharpen(thumb) if box[2] - box[0] != side else thumb
    t["thumb"] = time.perf_counter()

    for name, img in (("large", large), ("medium", medium), ("thumb", thumb)):
        renditions.append(Rendition(name, _encode(img), img.width, img.height))
    t["encode"] = time.perf_counter()

    marks = ["start", "open", "decode", "large", "medium", "thumb", "encode"]
    stamps = [t0] + [t[k] for k in marks[1:]]
    timings = {
        marks[i]: round((stamps[i] - stamps[i - 1]) * 1000, 2) for i in range(1, len(marks))
    }
    timings["total"] = round((stamps[-1] - t0) * 1000, 2)
    return Result(fmt, src_w, src_h, renditions, timings)


def _sharpen(im: Image.Image) -> Image.Image:
    return im.filter(_SHARPEN)


def _square(im: Image.Image, side: int) -> Image.Image:
    box = _centre_square(*im.size)
    if box[2] - box[0] == side:
        return im.crop(box)
    return _sharpen(_resize(im, (side, side), box=box, gap=1.0))
