"""Pure image work for the photo processor: bytes in, renditions out.

No S3 and no boto3 here, so this module can be tested and benchmarked
directly. The handler (handler.py) does the S3 glue.

Pipeline (one decode for all renditions):

1. Sniff and identify by content (JPEG, PNG, WebP, GIF, HEIC/HEIF, AVIF);
   read the dimensions from the header and refuse anything over ``MAX_PIXELS``
   before a single pixel is decoded. WebP, HEIF and AVIF sizes are read by our
   own parsers (heif_header.py for the ISO-BMFF container) before the codec
   library sees the file, since those libraries allocate on open.
2. JPEG: ``draft()`` asks libjpeg for DCT-domain scaling (1/2, 1/4, 1/8) to the
   smallest size still >= what the renditions need, then one decode.
3. Normalise the mode (palette, 16-bit, alpha flattened on white, CMYK kept
   for the ICC transform), resize to ``large`` in the stored orientation, then
   apply the EXIF orientation and the ICC -> sRGB conversion on that smaller
   image, then a light sharpen.
4. Each later rendition (photo_contract.RENDITIONS) is made from the smallest
   one already made that still covers it (a chain, never another decode).
5. Encode as baseline-optimised JPEG with no EXIF, no XMP, no comment and no
   ICC profile (the pixels are sRGB, which is what browsers assume).
"""

from __future__ import annotations

import io
import struct
import time
import warnings
from dataclasses import dataclass, field

import heif_header
import photo_contract as contract
from PIL import Image, ImageFile, ImageFilter

PROCESSOR_VERSION = "1.1.0"

# Pillow plugin ids tried by signature. HEIF and AVIF files are identified by
# their container first (heif_header) and opened with that one plugin only.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
CONTAINER_FORMATS = ("AVIF", "HEIF")
MAX_PIXELS = contract.MAX_PIXELS
MAX_BYTES = contract.MAX_BYTES
RENDITIONS = contract.RENDITIONS
LARGE = contract.BY_NAME["large"].box

JPEG_QUALITY = 82
CONTENT_TYPE = contract.CONTENT_TYPE
EXTENSION = contract.EXTENSION
_ACCEPTED_TEXT = ", ".join(contract.ACCEPTED_LABELS[:-1]) + " or " + contract.ACCEPTED_LABELS[-1]

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


def square_side(width: int, height: int, box: int) -> int:
    """A square rendition is a centre crop: ``box``, or the shorter side if smaller."""
    return min(box, width, height)


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
    brands = heif_header.ftyp_brands(data)
    if brands and brands & heif_header.AV1_BRANDS:
        return "AVIF"
    if brands and brands & (heif_header.HEVC_BRANDS | heif_header.GENERIC_BRANDS):
        return "HEIF"
    return None


# Traces an accepted format leaves near the start of a file even when its
# first bytes are damaged or something was put in front of them: a file with
# one of these is a broken photo ("corrupt"), not another kind of file.
_TRACES = (
    (b"\xff\xd8\xff", "JPEG"), (b"JFIF\0", "JPEG"), (b"Exif\0\0", "JPEG"),
    (b"\xff\xdb\x00\x43", "JPEG"), (b"\xff\xc0\x00\x11", "JPEG"), (b"\xff\xc2\x00\x11", "JPEG"),
    (b"NG\r\n\x1a\n", "PNG"), (b"IHDR", "PNG"), (b"F87a", "GIF"), (b"F89a", "GIF"),
    (b"NETSCAPE2.0", "GIF"),
    (b"WEBPVP8", "WebP"), (b"ftypheic", "HEIF"), (b"ftypheix", "HEIF"), (b"ftypmif1", "HEIF"),
    (b"ftypavif", "AVIF"), (b"ftypavis", "AVIF"), (b"hvcC", "HEIF"), (b"av1C", "AVIF"),
)
_TRACE_WINDOW = 4096


def _trace(data: bytes) -> str | None:
    """The accepted format whose traces a file carries near its start, if any."""
    head = data[:_TRACE_WINDOW]
    for needle, fmt in _TRACES:
        if needle in head:
            return fmt
    return None


def _check_pixels(fmt: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            contract.TOO_LARGE,
            f"The image is {width}x{height} pixels "
            f"({width * height / 1e6:.0f} megapixels); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels.",
            {"format": fmt, "width": width, "height": height},
        )


_heif_ready = False


def _register_heif() -> None:
    """Load pillow-heif on the first HEIF file only: it maps libheif and an
    HEVC codec (several MB), which JPEG-only containers never need."""
    global _heif_ready
    if not _heif_ready:
        import pillow_heif

        # Only the primary image: no thumbnails, depth maps or auxiliary images.
        pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        _heif_ready = True


def _check_container(data: bytes) -> str:
    """HEIF/AVIF: the sizes the container declares, checked before any codec
    library sees the file. Returns the Pillow plugin to open it with."""
    try:
        declared = heif_header.read(data)
    except heif_header.HeaderError:
        raise ImageRejected(
            contract.CORRUPT, "The HEIF/AVIF container is damaged and cannot be read."
        ) from None
    if declared.largest_pixels > MAX_PIXELS:
        primary = declared.primary_size
        worst = max(declared.sizes, key=lambda wh: wh[0] * wh[1])
        _check_pixels(declared.plugin or "HEIF", *(primary if primary and
                                                    primary[0] * primary[1] > MAX_PIXELS else worst))
    if declared.plugin is None:
        codec = declared.codec or "an unknown codec"
        raise ImageRejected(
            contract.UNSUPPORTED,
            f"The HEIF file holds {codec} images, which are not supported; "
            "send a HEIC (HEVC) or AVIF photo.",
            {"format": "HEIF"},
        )
    if not declared.sizes:
        raise ImageRejected(
            contract.CORRUPT, "The HEIF/AVIF file declares no image size; its header is damaged."
        )
    return declared.plugin


def open_image(data: bytes) -> Image.Image:
    """Identify by content and check the header size. Decodes no pixels."""
    if not data:
        raise ImageRejected(contract.CORRUPT, "The file is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise ImageRejected(
            contract.TOO_LARGE,
            f"The file is {len(data) / 2**20:.1f} MB; the limit is "
            f"{MAX_BYTES / 2**20:.0f} MB.",
        )
    formats = ACCEPTED_FORMATS
    webp = _webp_size(data)
    if webp:
        _check_pixels("WEBP", *webp)
    elif heif_header.is_isobmff_image(data):
        plugin = _check_container(data)
        if plugin == "HEIF":
            _register_heif()
        formats = (plugin,)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=formats)
    except Image.UnidentifiedImageError:
        fmt = _magic(data) or _trace(data)
        if fmt:  # right signature (or its traces), but no plugin could parse the header
            raise ImageRejected(
                contract.CORRUPT, f"The file looks like a {fmt} but its header is damaged."
            ) from None
        raise ImageRejected(
            contract.UNSUPPORTED,
            f"The file is not a supported image ({_ACCEPTED_TEXT}).",
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        fmt, size = _declared_size(data, formats)
        if size:
            _check_pixels(fmt, *size)
        raise ImageRejected(
            contract.TOO_LARGE,
            f"The image has more than {MAX_PIXELS / 1e6:.0f} megapixels.",
        ) from None
    except Exception:  # noqa: BLE001 - any parser error on a hostile header is "corrupt"
        raise ImageRejected(
            contract.CORRUPT, "The image header is damaged and cannot be read."
        ) from None
    _check_pixels(im.format, *im.size)
    return im


def _declared_size(data: bytes, formats=ACCEPTED_FORMATS) -> tuple[str | None, tuple[int, int] | None]:
    """Format and size from the header of a file Pillow refused as a bomb.

    Only for the error message: Image.open reads the header, never the pixels,
    so lifting the limit for this one call is safe.
    """
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(data), formats=formats) as im:
            return im.format, im.size
    except Exception:  # noqa: BLE001 - only for a nicer message
        return None, None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


# --------------------------------------------------------------------- decoding

def _needed_scale(width: int, height: int) -> float:
    """Largest fraction of the stored image any rendition needs (<= 1)."""
    need = 0.0
    for spec in RENDITIONS:
        side = min(width, height) if spec.square else max(width, height)  # a square covers the short side
        need = max(need, min(1.0, spec.box / side))
    return need


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
            contract.TOO_LARGE, f"The image has more than {MAX_PIXELS / 1e6:.0f} megapixels."
        ) from None
    except Exception:  # noqa: BLE001 - a bad file must never raise out of the handler
        raise ImageRejected(
            contract.CORRUPT, "The image data is truncated or damaged and cannot be decoded."
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
    at least 2x the output; gap=1.0 (the chain: each rendition from a larger
    one) lets a ~2x step be a plain 2x2 box average, which is ten times
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
    """Make every rendition in photo_contract.RENDITIONS of an uploaded image.

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
    made = {"large": large}
    t["large"] = time.perf_counter()

    _make_the_others(made, src_w, src_h, base, finish)
    t["chain"] = time.perf_counter()

    for spec in RENDITIONS:
        img = made[spec.name]
        renditions.append(Rendition(spec.name, _encode(img), img.width, img.height))
    t["encode"] = time.perf_counter()

    return Result(fmt, src_w, src_h, renditions, _timings(t0, t))


def _make_the_others(made: dict, src_w: int, src_h: int, base: Image.Image, finish) -> None:
    """Every rendition after ``large``, into ``made``: each from the smallest one made
    so far that covers it (a crop of a crop stays centred: every square is centred
    on the photo)."""
    for spec in RENDITIONS[1:]:
        if spec.square:
            side = square_side(src_w, src_h, spec.box)
            img = _square_from(made, side, base, finish)
        else:
            size = fit(src_w, src_h, spec.box)
            whole = [m for n, m in made.items() if not contract.BY_NAME[n].square and m.width >= size[0]]
            source = min(whole, key=lambda m: m.width)  # `large` always qualifies
            img = source if source.size == size else _sharpen(_resize(source, size, gap=1.0))
        made[spec.name] = img


def _timings(t0: float, t: dict) -> dict:
    """Milliseconds per phase (and in all) from the perf_counter marks."""
    marks = ["start", "open", "decode", "large", "chain", "encode"]
    stamps = [t0] + [t[k] for k in marks[1:]]
    timings = {marks[i]: round((stamps[i] - stamps[i - 1]) * 1000, 2) for i in range(1, len(marks))}
    timings["total"] = round((stamps[-1] - t0) * 1000, 2)
    return timings


def _sharpen(im: Image.Image) -> Image.Image:
    return im.filter(_SHARPEN)


def _square_from(made: dict, side: int, base: Image.Image, finish) -> Image.Image:
    """A centred side x side square from the smallest rendition that covers it,
    or from the decoded base if none does (a tiny or very long original)."""
    covering = [m for m in made.values() if min(m.size) >= side]
    if covering:
        return _square(min(covering, key=lambda m: min(m.size)), side)
    box = _centre_square(*base.size)
    img = finish(_resize(base, (side, side), box=box))
    return _sharpen(img) if box[2] - box[0] != side else img


def _square(im: Image.Image, side: int) -> Image.Image:
    box = _centre_square(*im.size)
    if box[2] - box[0] == side:
        return im.crop(box)
    return _sharpen(_resize(im, (side, side), box=box, gap=1.0))
