"""Real images for the processor tests, generated deterministically with Pillow.

Orientation fixtures are built so the test can tell where "up" is: the
displayed image (what a person sees) has a red top-left quadrant and is
green elsewhere. The stored pixels are that image rotated the way a phone
stores it, with the EXIF orientation tag that undoes it.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

RED = (220, 20, 20)
GREEN = (20, 160, 20)
BLUE = (20, 20, 220)
CAMERA_MAKE = "AcmePhone"
CAMERA_MODEL = "Model-X-Secret"


def _save(im: Image.Image, fmt: str, **kwargs) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kwargs)
    return out.getvalue()


def marked(width: int, height: int) -> Image.Image:
    """Displayed image: red top-left quadrant, green elsewhere."""
    im = Image.new("RGB", (width, height), GREEN)
    ImageDraw.Draw(im).rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    return im


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = CAMERA_MODEL
    gps = exif.get_ifd(0x8825)
    gps[1] = "S"  # GPSLatitudeRef
    gps[2] = (23.0, 33.0, 1.5)  # GPSLatitude: the tutor's street
    gps[3] = "W"
    gps[4] = (46.0, 38.0, 2.5)
    return exif


def phone_jpeg(orientation: int, display=(1500, 2000)) -> bytes:
    """A JPEG stored like a phone does, with an EXIF orientation and GPS."""
    shown = marked(*display)
    undo = {
        1: None,
        3: Image.Transpose.ROTATE_180,
        6: Image.Transpose.ROTATE_90,  # stored = displayed rotated 90 CCW
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = shown.transpose(undo) if undo else shown
    return _save(stored, "JPEG", quality=90, exif=exif_with_gps(orientation),
                 comment=b"owner: Maria Silva")


def plain_jpeg(size=(1200, 900), color=BLUE, mode="RGB", **kwargs) -> bytes:
    return _save(Image.new(mode, size, color), "JPEG", quality=90, **kwargs)


def cmyk_jpeg() -> bytes:
    # C=0 M=255 Y=255 K=0 is red.
    return _save(Image.new("CMYK", (1000, 800), (0, 255, 255, 0)), "JPEG", quality=90)


def png16() -> bytes:
    """16-bit greyscale: left half 0x8000 (mid grey), right half 0xFFFF."""
    im = Image.new("I;16", (600, 400), 0x8000)
    im.paste(Image.new("I;16", (300, 400), 0xFFFF), (300, 0))
    return _save(im, "PNG")


def palette_png_transparent() -> bytes:
    """Palette PNG: index 0 transparent (left half), index 1 red (right half)."""
    im = Image.new("P", (600, 400), 0)
    im.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))
    im.paste(1, (300, 0, 600, 400))
    return _save(im, "PNG", transparency=0)


def rgba_png() -> bytes:
    """RGBA: left half fully transparent black, right half opaque red."""
    im = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    im.paste((*RED, 255), (300, 0, 600, 400))
    return _save(im, "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (320, 240), c) for c in (RED, GREEN, BLUE)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:],
                 duration=100, loop=0)


def webp() -> bytes:
    return _save(marked(900, 600), "WEBP", quality=90)


def grey_scan_jpeg() -> bytes:
    return _save(Image.new("L", (1700, 2200), 200), "JPEG", quality=85)


def png_bomb(side: int = 20000) -> bytes:
    """A valid side x side 1-bit PNG (400 megapixels), a few tens of KB.

    Rows are compressed as a stream, so building it never holds the pixels.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grey
    row = b"\x00" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def webp_bomb() -> bytes:
    """A WebP header (VP8X) claiming a 16384 x 16384 canvas, no real data."""
    w = h = 16384
    vp8x = b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
       b'width="100" height="100"><circle cx="50" cy="50" r="40"/></svg>\n')
HTML = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"
TEXT = b"this is not a photo, just a text file with a .jpg name\n"


def swapped_rgb_icc() -> bytes:
    """A minimal ICC v2 RGB matrix/TRC profile whose red and blue colorants
    are swapped relative to sRGB, so a correct ICC -> sRGB conversion turns an
    encoded (220, 20, 20) into blue. Proves the transform really runs."""
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Swapped RGB test profile\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text
            + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0"),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, data = b"", b""
    for sig, blob in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(blob))
        data += blob
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntr"
              + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 4
              + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 4
              + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128, len(header)
    return header + body


def jpeg_with_icc(icc: bytes, color=RED) -> bytes:
    return _save(Image.new("RGB", (900, 600), color), "JPEG", quality=90, icc_profile=icc)


# --------------------------------------------------------------- HEIC and AVIF
# Made here, by the libraries the dev environment pins: pillow-heif (libheif +
# x265) writes HEIC, Pillow (libavif) writes 8-bit AVIF, and libvips (pyvips,
# libheif + aom) writes the 10-bit AVIF Pillow cannot.

_STORED = {  # stored pixels = displayed image transposed by this, for an EXIF orientation
    1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270,
}


def _phone_stored(orientation: int, display) -> tuple[Image.Image, Image.Exif]:
    shown = marked(*display)
    undo = _STORED[orientation]
    return (shown.transpose(undo) if undo else shown), exif_with_gps(orientation)


def heic(display=(1200, 900), orientation: int = 1, icc: bytes | None = None, image=None,
         grid: int = 0, quality: int = 80) -> bytes:
    """A HEIC as a phone writes it: EXIF (orientation, GPS, camera) whose
    orientation pillow-heif turns into the container's irot/imir rotation.
    grid=512 tiles the image like an iPhone does."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    stored, exif = _phone_stored(orientation, display) if image is None else (image, Image.Exif())
    before = pillow_heif.options.GRID_TILE_SIZE
    pillow_heif.options.GRID_TILE_SIZE = grid
    try:
        kwargs = {"exif": exif.tobytes(), "quality": quality}
        if icc:
            kwargs["icc_profile"] = icc
        return _save(stored, "HEIF", **kwargs)
    finally:
        pillow_heif.options.GRID_TILE_SIZE = before


def heic_10bit(display=(900, 600)) -> bytes:
    """A 10-bit HEIC (what HDR phones write): 16-bit RGB in, 10 bits stored."""
    import pillow_heif

    shown = marked(*display).tobytes()
    wide = bytearray(2 * len(shown))  # little-endian 16-bit: v * 257 spans the full range
    wide[0::2] = shown
    wide[1::2] = shown
    heif = pillow_heif.from_bytes(mode="RGB;16", size=display, data=bytes(wide))
    out = io.BytesIO()
    heif.save(out, quality=80)
    return out.getvalue()


def avif(display=(1200, 900), orientation: int = 1, icc: bytes | None = None, image=None,
         quality: int = 80) -> bytes:
    stored, exif = _phone_stored(orientation, display) if image is None else (image, Image.Exif())
    kwargs = {"exif": exif.tobytes(), "quality": quality}
    if icc:
        kwargs["icc_profile"] = icc
    return _save(stored, "AVIF", **kwargs)


def avif_10bit(display=(900, 600)) -> bytes:
    """A 10-bit AVIF, written by libvips (Pillow writes 8-bit only)."""
    import pyvips

    shown = marked(*display)
    vips = pyvips.Image.new_from_memory(shown.tobytes(), shown.width, shown.height, 3, "uchar")
    return vips.heifsave_buffer(compression="av1", bitdepth=10, Q=80)


def isobmff_boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, offset, size) of the boxes in data[start:end] (tests only)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, pos, size
        pos += size


def find_box(data: bytes, path: list[bytes]) -> tuple[int, int]:
    """(offset, size) of the box at path, e.g. [b"meta", b"iprp", b"ipco"]."""
    start, end = 0, len(data)
    for depth, want in enumerate(path):
        for kind, pos, size in isobmff_boxes(data, start, end):
            if kind == want:
                full = 4 if kind == b"meta" else 0  # meta is a FullBox
                start, end = pos + 8 + full, pos + size
                if depth == len(path) - 1:
                    return pos, size
                break
        else:
            raise KeyError(want)
    raise KeyError(path)


def with_declared_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite every ispe property to claim width x height: a HEIF/AVIF bomb
    (a few KB that would make the decoder allocate the declared canvas)."""
    out = bytearray(data)
    pos, size = find_box(data, [b"meta", b"iprp", b"ipco"])
    for kind, p, _s in isobmff_boxes(data, pos + 8, pos + size):
        if kind == b"ispe":
            out[p + 12:p + 20] = struct.pack(">II", width, height)
    return bytes(out)


def with_brands(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a brand in the ftyp box (same length), e.g. heic -> mif1."""
    pos, size = find_box(data, [b"ftyp"])
    return data[:pos] + data[pos:pos + size].replace(old, new) + data[pos + size:]


def with_codec_property(data: bytes, old: bytes, new: bytes) -> bytes:
    """Rename a codec configuration property (e.g. hvcC -> jpgC) in ipco."""
    pos, size = find_box(data, [b"meta", b"iprp", b"ipco"])
    return data[:pos] + data[pos:pos + size].replace(old, new) + data[pos + size:]
