"""HEIC/HEIF and AVIF, the formats phones write, through the same pipeline.

Every file here is made by the suite itself (photo_factory): rotated through
the container's irot/imir (what pillow-heif and Pillow write from an EXIF
orientation), with an ICC profile, with alpha, 10-bit, tiled like an iPhone,
truncated, and as a pixel bomb whose container claims a huge canvas.
"""

import io
import os
import subprocess
import sys

import heif_header
import imaging
import photo_contract as contract
import photo_factory as pf
import pytest
from PIL import Image, ImageFile
from test_imaging import _STORE, decoded, red_quadrant_is_top_left

MAKERS = {"HEIF": pf.heic, "AVIF": pf.avif}


def near(pixel, expected, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=False))


def stored_with(orientation: int, display=(600, 400)) -> tuple[Image.Image, Image.Exif]:
    im = pf.marked(*display)
    for op in _STORE[orientation]:
        im = im.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return im, exif


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_every_orientation_comes_out_upright(fmt, orientation):
    im, exif = stored_with(orientation)
    data = pf._save(im, fmt, exif=exif.tobytes(), quality=80) if fmt == "AVIF" else _heic(im, exif)
    result = imaging.process(data)
    assert (result.format, result.width, result.height) == (fmt, 600, 400)
    for spec in contract.RENDITIONS:
        out = decoded(result, spec.name)
        assert not out.getexif()
        if not spec.square:
            assert red_quadrant_is_top_left(out), (fmt, orientation, spec.name)


def _heic(im, exif):
    import pillow_heif

    pillow_heif.register_heif_opener()
    return pf._save(im, "HEIF", exif=exif.tobytes(), quality=80)


def test_12mp_iphone_like_heic_tiled_and_rotated():
    """4032x3024 stored, 512-px grid tiles (as iPhones write), shown portrait."""
    data = pf.heic(display=(3024, 4032), orientation=6, grid=512)
    declared = heif_header.read(data)
    assert declared.plugin == "HEIF" and (512, 512) in declared.sizes
    assert declared.primary_size == (4032, 3024)  # ispe is before the rotation
    result = imaging.process(data)
    assert (result.format, result.width, result.height) == ("HEIF", 3024, 4032)
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes == {"large": (1200, 1600), "medium": (600, 800), "thumb_hd": (640, 640), "thumb": (256, 256)}
    assert red_quadrant_is_top_left(decoded(result, "large"))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_metadata_never_reaches_the_renditions(fmt):
    data = MAKERS[fmt](orientation=6)
    assert pf.CAMERA_MODEL.encode() in data  # the EXIF (camera, GPS) is in the original
    for r in imaging.process(data).renditions:
        assert r.data[:2] == b"\xff\xd8"
        assert b"Exif" not in r.data and pf.CAMERA_MODEL.encode() not in r.data
        assert b"ICC_PROFILE" not in r.data


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_icc_profile_is_converted_to_srgb(fmt):
    """The test profile swaps red and blue: converted red pixels turn blue."""
    data = MAKERS[fmt](image=Image.new("RGB", (600, 400), pf.RED), icc=pf.swapped_rgb_icc())
    out = decoded(imaging.process(data), "large")
    r, _g, b = out.getpixel((300, 200))
    assert b > 160 and r < 80, (r, b)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_alpha_is_flattened_on_white(fmt):
    im = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    im.paste((*pf.RED, 255), (300, 0, 600, 400))
    out = decoded(imaging.process(MAKERS[fmt](image=im)), "large")
    assert out.mode == "RGB"
    assert near(out.getpixel((100, 200)), (255, 255, 255), tol=12)
    assert near(out.getpixel((500, 200)), pf.RED)


@pytest.mark.parametrize("make", [pf.heic_10bit, pf.avif_10bit], ids=["HEIF", "AVIF"])
def test_10_bit_photos(make):
    data = make()
    pixi = data.find(b"pixi")
    assert pixi > 0 and data[pixi + 8] == 3 and data[pixi + 9:pixi + 12] == b"\x0a\x0a\x0a"  # 3 x 10 bits
    result = imaging.process(data)
    assert (result.width, result.height) == (900, 600)
    large = decoded(result, "large")
    assert red_quadrant_is_top_left(large)
    assert near(large.getpixel((200, 150)), pf.RED) and near(large.getpixel((700, 450)), pf.GREEN)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("cut", ["half", "header", "first-box"])
def test_truncated_files_are_corrupt(fmt, cut):
    data = MAKERS[fmt](display=(1200, 900), image=Image.effect_noise((1200, 900), 60).convert("RGB"))
    n = {"half": len(data) // 2, "header": 300, "first-box": 20}[cut]
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data[:n])
    assert err.value.code == contract.CORRUPT, err.value.message


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("side", [7072, 60000])  # 50.01 MP (just over the limit), 3.6 gigapixels
def test_pixel_bomb_is_refused_from_the_container_before_any_codec(monkeypatch, fmt, side):
    data = pf.with_declared_size(MAKERS[fmt](display=(64, 48)), side, side)
    assert len(data) < 20_000
    monkeypatch.setattr(Image, "open", lambda *a, **kw: pytest.fail("a codec library saw the file"))
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data)
    assert err.value.code == contract.TOO_LARGE
    assert err.value.source == {"format": fmt, "width": side, "height": side}


def test_a_tile_claiming_a_huge_size_is_refused_too(monkeypatch):
    """Only the tiles' ispe lies (the grid's stays 1024x1024): still refused."""
    data = bytearray(pf.heic(display=(1024, 1024), grid=512))
    pos, size = pf.find_box(bytes(data), [b"meta", b"iprp", b"ipco"])
    tiles = [p for k, p, _s in pf.isobmff_boxes(bytes(data), pos + 8, pos + size)
             if k == b"ispe" and data[p + 12:p + 20] == (512).to_bytes(4, "big") * 2]
    assert tiles
    data[tiles[0] + 12:tiles[0] + 20] = (40000).to_bytes(4, "big") * 2
    monkeypatch.setattr(Image, "open", lambda *a, **kw: pytest.fail("a codec library saw the file"))
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(bytes(data))
    assert err.value.code == contract.TOO_LARGE


def test_pillow_bomb_check_backs_up_the_container_check(monkeypatch):
    """If the container check were skipped, Pillow's own limit still refuses
    the declared size on open (no pixel decoded)."""
    monkeypatch.setattr(imaging, "_check_container", lambda data: "AVIF")
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda *a, **k: pytest.fail("pixels were decoded"))
    data = pf.with_declared_size(pf.avif(display=(64, 48)), 9000, 9000)  # 81 MP: Pillow raises
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data)
    assert err.value.code == contract.TOO_LARGE
    assert err.value.source == {"format": "AVIF", "width": 9000, "height": 9000}


def test_identified_by_codec_when_the_brands_are_generic():
    """ftyp says only mif1 (a generic HEIF): the hvcC property tells HEVC."""
    data = pf.with_brands(pf.heic(), b"heic", b"mif1")
    assert b"heic" not in data[:64]
    assert imaging.process(data).format == "HEIF"


def test_heif_with_a_codec_we_do_not_decode_is_unsupported():
    data = pf.with_codec_property(pf.with_brands(pf.heic(), b"heic", b"mif1"), b"hvcC", b"vvcC")
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data)
    assert err.value.code == contract.UNSUPPORTED and "VVC" in err.value.message


@pytest.mark.parametrize("damage", ["box-size", "ipma-count"])
def test_damaged_container_is_corrupt(damage):
    data = bytearray(pf.heic())
    if damage == "box-size":
        pos, _size = pf.find_box(bytes(data), [b"meta"])
        data[pos:pos + 4] = (len(data) * 4).to_bytes(4, "big")  # meta claims more than the file
    else:
        pos, _size = pf.find_box(bytes(data), [b"meta", b"iprp", b"ipma"])
        data[pos + 12:pos + 16] = (10**6).to_bytes(4, "big")
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(bytes(data))
    assert err.value.code == contract.CORRUPT


# ------------------------------------------------ corrupt vs unsupported (all formats)

GOOD = {
    "JPEG": lambda: pf.phone_jpeg(6, display=(600, 800)),
    "PNG": pf.rgba_png,
    "GIF": pf.animated_gif,
    "WEBP": pf.webp,
    "HEIF": lambda: pf.heic(display=(600, 400)),
    "AVIF": lambda: pf.avif(display=(600, 400)),
}


@pytest.mark.parametrize("fmt", sorted(GOOD))
@pytest.mark.parametrize("damage", ["signature", "junk-in-front", "cut-after-header"])
def test_a_damaged_photo_is_corrupt_never_unsupported(fmt, damage):
    """A photo whose signature was damaged (or that got bytes put in front
    of it) is still recognisably that photo: the message must say "corrupt"."""
    data = bytearray(GOOD[fmt]())
    if damage == "signature":
        at = 4 if fmt in ("HEIF", "AVIF") else 0  # ISO-BMFF: the "ftyp" after the box size
        data[at:at + 2] = b"\x00\x00"
    elif damage == "junk-in-front":
        data[0:0] = b"\x00" * 7
    else:
        data = data[:40]
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(bytes(data))
    assert err.value.code == contract.CORRUPT, (fmt, damage, err.value.message)


@pytest.mark.parametrize("data", [
    pf.SVG, pf.HTML, pf.TEXT, b"%PDF-1.7\n" + b"\0" * 100, b"PK\x03\x04" + b"\0" * 100,
    pf._save(Image.new("RGB", (10, 10)), "BMP"), pf._save(Image.new("RGB", (10, 10)), "TIFF"),
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\0" * 64,  # a video, not a photo
], ids=["svg", "html", "text", "pdf", "zip", "bmp", "tiff", "mp4"])
def test_other_kinds_of_file_are_unsupported(data):
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data)
    assert err.value.code == contract.UNSUPPORTED
    assert "HEIC" in err.value.message and "AVIF" in err.value.message


def test_heif_support_is_loaded_only_for_a_heif_file(tmp_path):
    """pillow-heif (libheif + x265, several MB) is not imported on a cold start
    and not for a JPEG; the first HEIC loads it."""
    heic = tmp_path / "x.heic"
    heic.write_bytes(pf.heic(display=(64, 48)))
    code = (
        "import sys; import handler, imaging, photo_factory as pf\n"
        "assert 'pillow_heif' not in sys.modules, 'loaded at import'\n"
        "imaging.process(pf.plain_jpeg())\n"
        "assert 'pillow_heif' not in sys.modules, 'loaded for a JPEG'\n"
        "assert imaging.process(open(sys.argv[1], 'rb').read()).format == 'HEIF'\n"
        "assert 'pillow_heif' in sys.modules\n"
    )
    here = __import__("pathlib").Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parents[1] / "lambda_src"), str(here)])}
    result = subprocess.run([sys.executable, "-c", code, str(heic)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_container_sizes_match_what_the_codecs_report():
    from PIL import features

    assert features.check("avif")
    for data, size in ((pf.avif(display=(322, 124)), (322, 124)), (pf.heic(display=(322, 124)), (322, 124))):
        declared = heif_header.read(data)
        assert declared.primary_size == size
        with Image.open(io.BytesIO(data)) as im:
            assert im.size == size
