"""The pure image module, without S3."""

import io

import imaging
import photo_factory as pf
import pytest
from PIL import Image, ImageCms, ImageFile


def decoded(result, name):
    r = next(r for r in result.renditions if r.name == name)
    im = Image.open(io.BytesIO(r.data))
    assert im.size == (r.width, r.height)
    return im


def red_quadrant_is_top_left(im):
    w, h = im.size
    quads = {
        "tl": im.getpixel((w // 4, h // 4)), "tr": im.getpixel((3 * w // 4, h // 4)),
        "bl": im.getpixel((w // 4, 3 * h // 4)), "br": im.getpixel((3 * w // 4, 3 * h // 4)),
    }
    reddest = max(quads, key=lambda q: quads[q][0] - quads[q][1])
    return reddest == "tl"


# Stored pixels for each EXIF orientation, from the displayed image.
_STORE = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90], 7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_every_exif_orientation_comes_out_upright(orientation, fmt):
    im = pf.marked(1200, 900)  # displayed: landscape, red top-left
    for op in _STORE[orientation]:
        im = im.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = pf._save(im, fmt, exif=exif)
    result = imaging.process(data)
    assert (result.width, result.height) == (1200, 900)
    for spec in imaging.RENDITIONS:
        out = decoded(result, spec.name)
        assert not out.getexif()
        if not spec.square:
            assert red_quadrant_is_top_left(out), (orientation, spec.name)
    assert decoded(result, "large").size == (1200, 900)
    assert decoded(result, "medium").size == (800, 600)


def test_12mp_phone_jpeg_sizes_and_draft():
    data = pf.phone_jpeg(6, display=(3024, 4032))
    result = imaging.process(data)
    assert (result.format, result.width, result.height) == ("JPEG", 3024, 4032)
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes == {"large": (1200, 1600), "medium": (600, 800), "thumb_hd": (640, 640), "thumb": (256, 256)}
    assert red_quadrant_is_top_left(decoded(result, "large"))
    assert set(result.timings_ms) >= {"open", "decode", "large", "chain", "encode"}


def test_same_input_gives_byte_identical_renditions():
    data = pf.phone_jpeg(8)
    a, b = imaging.process(data), imaging.process(data)
    assert [r.data for r in a.renditions] == [r.data for r in b.renditions]


def test_renditions_strip_metadata_but_keep_pixels():
    data = pf.phone_jpeg(1)
    for r in imaging.process(data).renditions:
        assert r.data[:2] == b"\xff\xd8"
        assert b"Exif" not in r.data and b"GPS" not in r.data
        assert b"Maria" not in r.data and pf.CAMERA_MAKE.encode() not in r.data
        assert b"ICC_PROFILE" not in r.data
        assert r.content_type == "image/jpeg"


def test_non_srgb_icc_profile_is_converted():
    """The test profile swaps red and blue: a converted red pixel turns blue."""
    result = imaging.process(pf.jpeg_with_icc(pf.swapped_rgb_icc(), color=pf.RED))
    out = decoded(result, "large")
    r, g, b = out.getpixel((450, 300))
    assert b > 180 and r < 60, (r, g, b)
    assert "icc_profile" not in out.info


def test_srgb_profile_is_left_alone_and_broken_profile_is_tolerated():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for icc in (srgb, b"not an icc profile at all"):
        out = decoded(imaging.process(pf.jpeg_with_icc(icc, color=pf.RED)), "medium")
        r, _g, b = out.getpixel((400, 250))
        assert r > 180 and b < 60


@pytest.mark.parametrize("mode, color", [("LA", (90, 255)), ("1", 1), ("L", 90), ("RGBA", (*pf.RED, 255))])
def test_other_png_modes(mode, color):
    result = imaging.process(pf._save(Image.new(mode, (500, 300), color), "PNG"))
    out = decoded(result, "large")
    assert out.mode == "RGB" and out.size == (500, 300)


def test_gif_transparent_first_frame_on_white():
    frame = Image.new("P", (200, 100), 0)
    frame.putpalette([0, 0, 0, *pf.BLUE] + [0] * (256 * 3 - 6))
    frame.paste(1, (100, 0, 200, 100))
    data = pf._save(frame, "GIF", transparency=0)
    out = decoded(imaging.process(data), "large")
    assert min(out.getpixel((50, 50))) > 240
    assert out.getpixel((150, 50))[2] > 180


def test_fit_and_square_side():
    assert imaging.fit(4032, 3024, 1600) == (1600, 1200)
    assert imaging.fit(3024, 4032, 800) == (600, 800)
    assert imaging.fit(100, 50, 1600) == (100, 50)
    assert imaging.fit(10000, 10, 800) == (800, 1)
    assert imaging.square_side(4032, 3024, 256) == 256
    assert imaging.square_side(40, 30, 256) == 30


@pytest.mark.parametrize("side", [7500, 20000])  # 56 MP (Pillow warns), 400 MP (Pillow raises)
def test_bomb_is_refused_before_any_pixel_is_decoded(monkeypatch, side):
    def no_decoding(self, *a, **kw):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(pf.png_bomb(side))
    assert err.value.code == "too_large"
    assert err.value.source == {"format": "PNG", "width": side, "height": side}


def test_webp_bomb_is_refused_from_the_riff_header(monkeypatch):
    monkeypatch.setattr(Image, "open", lambda *a, **kw: pytest.fail("Pillow saw the file"))
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(pf.webp_bomb())
    assert err.value.code == "too_large"


def test_webp_header_sniffing_matches_pillow():
    for kwargs in ({"lossless": True}, {"quality": 80}):
        data = pf._save(pf.marked(321, 123), "WEBP", **kwargs)
        assert imaging._webp_size(data) == (321, 123)
    rgba = pf._save(Image.new("RGBA", (77, 55), (1, 2, 3, 100)), "WEBP")
    assert imaging._webp_size(rgba) == (77, 55)


@pytest.mark.parametrize("data, code", [
    (b"", "corrupt"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 20, "corrupt"),  # JPEG magic, nothing else
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "corrupt"),
    (b"GIF89a" + b"\xff" * 3, "corrupt"),
    (pf.SVG, "unsupported"),
    (pf.HTML, "unsupported"),
    (b"%PDF-1.7\n", "unsupported"),
    (pf._save(Image.new("RGB", (10, 10)), "BMP"), "unsupported"),
    (pf._save(Image.new("RGB", (10, 10)), "TIFF"), "unsupported"),
    (b"x" * (imaging.MAX_BYTES + 1), "too_large"),
])
def test_refusals(data, code):
    with pytest.raises(imaging.ImageRejected) as err:
        imaging.process(data)
    assert err.value.code == code
    assert err.value.message.endswith(".")


def test_truncated_images_are_corrupt_not_grey():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    noisy_gif = pf._save(Image.effect_noise((400, 300), 60).convert("P"), "GIF")
    for data in (pf.phone_jpeg(6), pf.webp(), noisy_gif, pf.rgba_png()):
        with pytest.raises(imaging.ImageRejected) as err:
            imaging.process(data[: len(data) // 2])
        assert err.value.code == "corrupt"
