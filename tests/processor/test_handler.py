"""The handler under moto: real images in, manifest and pixels checked out."""

import io
import json

import handler
import photo_contract as contract
import photo_factory as pf
import pytest
from botocore.exceptions import ClientError
from PIL import Image
from processor_helpers import BUCKET, all_objects, get_manifest, s3_event

ALL = {r.name for r in contract.RENDITIONS}


def upload(client, key, data):
    client.put_object(Bucket=BUCKET, Key=key, Body=data)
    return handler.handler(s3_event(key), None)


def rendition(client, photo_id, name):
    data = client.get_object(Bucket=BUCKET, Key=f"processed/{photo_id}/{name}.jpg")["Body"].read()
    return data, Image.open(io.BytesIO(data))


def assert_clean_jpeg(data, im):
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert not im.getexif(), "renditions must carry no EXIF"
    assert "exif" not in im.info and "icc_profile" not in im.info
    assert "comment" not in im.info
    assert b"Exif\x00\x00" not in data
    assert pf.CAMERA_MODEL.encode() not in data and b"Maria" not in data


def near(pixel, color, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel, color))


def assert_ok(manifest, photo_id, fmt, width, height):
    assert manifest["status"] == "ok", manifest
    assert manifest["photo_id"] == photo_id
    assert manifest["error"] is None
    assert manifest["source"]["format"] == fmt
    assert (manifest["source"]["width"], manifest["source"]["height"]) == (width, height)
    assert set(manifest["renditions"]) == ALL
    assert manifest["processor_version"] == handler.imaging.PROCESSOR_VERSION
    assert manifest["processed_at"].endswith("Z")


def assert_failed(client, photo_id, code):
    manifest = get_manifest(client, photo_id)
    assert manifest["status"] == "failed"
    assert manifest["error"]["code"] == code
    assert manifest["error"]["message"]
    assert manifest["renditions"] == {}
    renditions = [k for k in all_objects(client, f"processed/{photo_id}/")
                  if not k.endswith("manifest.json")]
    assert renditions == []
    return manifest


# ------------------------------------------------------------------ good photos

@pytest.mark.parametrize("orientation", [6, 8])
def test_rotated_phone_photo_comes_out_upright_without_exif(s3, orientation):
    data = pf.phone_jpeg(orientation, display=(1500, 2000))
    assert upload(s3, f"uploads/p{orientation}/IMG_0001.JPG", data) == {
        "ok": 1, "failed": 0, "skipped": 0}
    m = get_manifest(s3, f"p{orientation}")
    assert_ok(m, f"p{orientation}", "JPEG", 1500, 2000)
    assert m["source"] == {"key": f"uploads/p{orientation}/IMG_0001.JPG", "bytes": len(data),
                           "format": "JPEG", "width": 1500, "height": 2000}
    expected = {"large": (1200, 1600), "medium": (600, 800), "thumb_hd": (640, 640), "thumb": (256, 256)}
    for name, size in expected.items():
        r = m["renditions"][name]
        assert r["key"] == f"processed/p{orientation}/{name}.jpg"
        assert (r["width"], r["height"]) == size
        assert r["content_type"] == "image/jpeg"
        blob, im = rendition(s3, f"p{orientation}", name)
        assert r["bytes"] == len(blob)
        assert im.size == size
        assert_clean_jpeg(blob, im)
    # Upright: red top-left quadrant, green top-right and bottom-left.
    _, large = rendition(s3, f"p{orientation}", "large")
    w, h = large.size
    assert near(large.getpixel((w // 4, h // 4)), pf.RED)
    assert near(large.getpixel((3 * w // 4, h // 4)), pf.GREEN)
    assert near(large.getpixel((w // 4, 3 * h // 4)), pf.GREEN)


def test_rendition_and_manifest_headers(s3):
    upload(s3, "uploads/h1/a.jpg", pf.plain_jpeg())
    for name in ALL:
        head = s3.head_object(Bucket=BUCKET, Key=f"processed/h1/{name}.jpg")
        assert head["ContentType"] == "image/jpeg"
        assert head["CacheControl"] == handler.RENDITION_CACHE_CONTROL
        assert "max-age=86400" in head["CacheControl"]
    head = s3.head_object(Bucket=BUCKET, Key="processed/h1/manifest.json")
    assert head["ContentType"] == "application/json"
    assert head["CacheControl"] == "no-cache"


def test_manifest_is_written_last(s3, monkeypatch):
    client = handler.s3()
    order = []
    client.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **kw: order.append(params["Key"]))
    upload(s3, "uploads/order/a.jpg", pf.plain_jpeg())
    assert order[-1] == "processed/order/manifest.json"
    assert len(order) == len(ALL) + 1


def test_cmyk_jpeg_becomes_srgb(s3):
    upload(s3, "uploads/cmyk/scan.jpg", pf.cmyk_jpeg())
    m = get_manifest(s3, "cmyk")
    assert_ok(m, "cmyk", "JPEG", 1000, 800)
    blob, im = rendition(s3, "cmyk", "large")
    assert_clean_jpeg(blob, im)
    assert near(im.getpixel((500, 400)), (255, 0, 0), tol=60)


def test_16bit_png_is_scaled_not_clipped(s3):
    upload(s3, "uploads/png16/x.png", pf.png16())
    assert_ok(get_manifest(s3, "png16"), "png16", "PNG", 600, 400)
    blob, im = rendition(s3, "png16", "large")
    assert_clean_jpeg(blob, im)
    assert near(im.getpixel((100, 200)), (128, 128, 128), tol=6)  # 0x8000 -> mid grey
    assert near(im.getpixel((500, 200)), (255, 255, 255), tol=6)


def test_palette_png_transparency_is_flattened_on_white(s3):
    upload(s3, "uploads/pal/x.png", pf.palette_png_transparent())
    assert_ok(get_manifest(s3, "pal"), "pal", "PNG", 600, 400)
    blob, im = rendition(s3, "pal", "large")
    assert_clean_jpeg(blob, im)
    assert near(im.getpixel((100, 200)), (255, 255, 255), tol=8)
    assert near(im.getpixel((500, 200)), pf.RED)


def test_rgba_png_is_flattened_on_white(s3):
    upload(s3, "uploads/rgba/x.png", pf.rgba_png())
    assert_ok(get_manifest(s3, "rgba"), "rgba", "PNG", 600, 400)
    _, im = rendition(s3, "rgba", "medium")
    assert im.size == (600, 400)
    assert near(im.getpixel((100, 200)), (255, 255, 255), tol=8)
    assert near(im.getpixel((500, 200)), pf.RED)


def test_animated_gif_gives_its_first_frame(s3):
    upload(s3, "uploads/gif/anim.gif", pf.animated_gif())
    assert_ok(get_manifest(s3, "gif"), "gif", "GIF", 320, 240)
    for name in ALL:
        blob, im = rendition(s3, "gif", name)
        assert_clean_jpeg(blob, im)
        assert near(im.getpixel((im.width // 2, im.height // 2)), pf.RED)


def test_webp(s3):
    upload(s3, "uploads/webp/x.webp", pf.webp())
    m = get_manifest(s3, "webp")
    assert_ok(m, "webp", "WEBP", 900, 600)
    assert (m["renditions"]["medium"]["width"], m["renditions"]["medium"]["height"]) == (800, 533)
    _, im = rendition(s3, "webp", "large")
    assert im.size == (900, 600)
    assert near(im.getpixel((100, 100)), pf.RED)


def test_greyscale_scan_becomes_rgb(s3):
    upload(s3, "uploads/grey/scan.jpg", pf.grey_scan_jpeg())
    assert_ok(get_manifest(s3, "grey"), "grey", "JPEG", 1700, 2200)
    blob, im = rendition(s3, "grey", "large")
    assert im.size == (1236, 1600)
    assert_clean_jpeg(blob, im)


def test_tiny_image_is_never_upscaled(s3):
    upload(s3, "uploads/tiny/x.png", pf._save(pf.marked(40, 30), "PNG"))
    m = get_manifest(s3, "tiny")
    assert_ok(m, "tiny", "PNG", 40, 30)
    sizes = {n: (r["width"], r["height"]) for n, r in m["renditions"].items()}
    assert sizes == {"large": (40, 30), "medium": (40, 30), "thumb_hd": (30, 30), "thumb": (30, 30)}
    for name, size in sizes.items():
        assert rendition(s3, "tiny", name)[1].size == size


def test_panorama(s3):
    upload(s3, "uploads/pano/x.jpg", pf.plain_jpeg(size=(6000, 500), color=pf.GREEN))
    m = get_manifest(s3, "pano")
    assert_ok(m, "pano", "JPEG", 6000, 500)
    sizes = {n: (r["width"], r["height"]) for n, r in m["renditions"].items()}
    assert sizes == {"large": (1600, 133), "medium": (800, 67), "thumb_hd": (500, 500), "thumb": (256, 256)}
    _, thumb = rendition(s3, "pano", "thumb")
    assert thumb.size == (256, 256)
    assert near(thumb.getpixel((128, 128)), pf.GREEN)


def test_content_decides_not_the_name(s3):
    """A PNG named .jpg is processed as the PNG it is."""
    upload(s3, "uploads/named/photo.jpg", pf.rgba_png())
    assert get_manifest(s3, "named")["source"]["format"] == "PNG"


def test_key_with_spaces_and_accents(s3):
    key = "uploads/abc/foto do cão (1).jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.plain_jpeg())
    event = s3_event(key)
    assert event["Records"][0]["s3"]["object"]["key"] == "uploads/abc/foto+do+c%C3%A3o+%281%29.jpg"
    assert handler.handler(event, None)["ok"] == 1
    m = get_manifest(s3, "abc")
    assert m["status"] == "ok"
    assert m["source"]["key"] == key


def test_many_records_in_one_event(s3):
    for pid in ("m1", "m2"):
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{pid}/a.jpg", Body=pf.plain_jpeg())
    s3.put_object(Bucket=BUCKET, Key="uploads/m3/a.jpg", Body=pf.TEXT)
    summary = handler.handler(
        s3_event("uploads/m1/a.jpg", "uploads/m2/a.jpg", "uploads/m3/a.jpg"), None)
    assert summary == {"ok": 2, "failed": 1, "skipped": 0}


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize(
    "name, data, code",
    [
        ("truncated.jpg", pf.phone_jpeg(6)[:-4000], "corrupt"),
        ("truncated.png", pf.png16()[:300], "corrupt"),
        ("empty.jpg", b"", "corrupt"),
        ("not-an-image.jpg", pf.TEXT, "unsupported"),
        ("drawing.svg", pf.SVG, "unsupported"),
        ("page.jpg", pf.HTML, "unsupported"),
        ("bomb.png", pf.png_bomb(), "too_large"),
        ("bomb.webp", pf.webp_bomb(), "too_large"),
    ],
)
def test_hostile_or_broken_files_fail_cleanly(s3, name, data, code):
    assert upload(s3, f"uploads/bad/{name}", data) == {"ok": 0, "failed": 1, "skipped": 0}
    m = assert_failed(s3, "bad", code)
    assert m["source"]["key"] == f"uploads/bad/{name}"
    assert m["source"]["bytes"] == len(data)


def test_png_bomb_is_small_and_refused_from_its_header(s3):
    data = pf.png_bomb()
    assert len(data) < 100_000
    upload(s3, "uploads/bomb/x.png", data)
    m = assert_failed(s3, "bomb", "too_large")
    assert (m["source"]["width"], m["source"]["height"]) == (20000, 20000)
    assert m["source"]["format"] == "PNG"
    assert "400 megapixels" in m["error"]["message"]


def test_30mb_file_is_refused_by_head_without_download(s3):
    key = "uploads/big/huge.jpg"
    data = pf.plain_jpeg() + b"\0" * (30 * 1024 * 1024)
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    calls = []
    client = handler.s3()
    client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **kw: calls.append(params["Key"]))
    handler.handler(s3_event(key), None)
    assert calls == [], "the GET must not happen"
    m = assert_failed(s3, "big", "too_large")
    assert m["source"]["bytes"] == len(data)
    assert "25 MB" in m["error"]["message"]


def test_a_bug_on_one_file_fails_it_instead_of_retrying_forever(s3, monkeypatch, capsys):
    def boom(data):
        raise ValueError("bug")

    monkeypatch.setattr(handler.imaging, "process", boom)
    assert upload(s3, "uploads/bug/a.jpg", pf.plain_jpeg())["failed"] == 1
    assert assert_failed(s3, "bug", "corrupt")["error"]["message"] == "The image could not be processed."
    err = [json.loads(line) for line in capsys.readouterr().out.splitlines()
           if '"processing error"' in line]
    assert err and err[0]["level"] == "ERROR" and err[0]["exception"] == "ValueError"


# ------------------------------------------------------------------ routing

def test_events_outside_uploads_write_nothing(s3):
    s3.put_object(Bucket=BUCKET, Key="processed/x/large.jpg", Body=pf.plain_jpeg())
    s3.put_object(Bucket=BUCKET, Key="other/x/a.jpg", Body=pf.plain_jpeg())
    s3.put_object(Bucket=BUCKET, Key="uploads/loose.jpg", Body=pf.plain_jpeg())
    before = all_objects(s3)
    summary = handler.handler(
        s3_event("processed/x/large.jpg", "other/x/a.jpg", "uploads/loose.jpg", "uploads/x/"),
        None)
    assert summary == {"ok": 0, "failed": 0, "skipped": 4}
    assert all_objects(s3) == before


def test_remove_events_and_test_events_are_ignored(s3):
    s3.put_object(Bucket=BUCKET, Key="uploads/rm/a.jpg", Body=pf.plain_jpeg())
    assert handler.handler(s3_event("uploads/rm/a.jpg", event_name="ObjectRemoved:Delete"),
                           None)["skipped"] == 1
    assert handler.handler({"Service": "Amazon S3", "Event": "s3:TestEvent"}, None) == {
        "ok": 0, "failed": 0, "skipped": 0}
    assert all_objects(s3, "processed/") == {}


# ------------------------------------------------------------------ idempotency

def test_two_deliveries_leave_identical_output(s3):
    key = "uploads/twice/IMG_1.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.phone_jpeg(6))
    event = s3_event(key)
    handler.handler(event, None)
    first = all_objects(s3, "processed/")
    handler.handler(event, None)
    second = all_objects(s3, "processed/")
    assert set(first) == set(second) == {
        f"processed/twice/{n}" for n in [f"{r}.jpg" for r in ALL] + ["manifest.json"]}
    for k in first:
        if k.endswith("manifest.json"):
            a, b = json.loads(first[k]), json.loads(second[k])
            a.pop("processed_at"), b.pop("processed_at")
            assert a == b
        else:
            assert first[k] == second[k], k


def test_failed_manifest_is_replaced_when_fixed_file_is_reuploaded(s3):
    key = "uploads/fix/photo.jpg"
    upload(s3, key, pf.phone_jpeg(6)[:5000])
    assert get_manifest(s3, "fix")["status"] == "failed"
    upload(s3, key, pf.phone_jpeg(6))
    m = get_manifest(s3, "fix")
    assert m["status"] == "ok" and m["error"] is None
    assert set(m["renditions"]) == ALL


# ------------------------------------------------------------------ AWS errors

def test_deleted_original_is_skipped_not_raised(s3):
    assert handler.handler(s3_event("uploads/gone/a.jpg"), None) == {
        "ok": 0, "failed": 0, "skipped": 1}
    assert all_objects(s3, "processed/") == {}


def test_missing_bucket_raises(s3):
    with pytest.raises(ClientError):
        handler.handler(s3_event("uploads/nb/a.jpg", bucket="no-such-bucket"), None)


class FailingClient:
    """Wraps the real client; one operation raises a given S3 error code."""

    def __init__(self, real, operation, code):
        self.real, self.operation, self.code = real, operation, code

    def __getattr__(self, name):
        if name == self.operation:
            def fail(**kwargs):
                raise ClientError({"Error": {"Code": self.code, "Message": "x"}},
                                  self.operation)
            return fail
        return getattr(self.real, name)


@pytest.mark.parametrize("operation, code", [
    ("head_object", "SlowDown"),
    ("head_object", "403"),
    ("get_object", "InternalError"),
    ("put_object", "ServiceUnavailable"),
])
def test_transient_aws_errors_raise_for_retry(s3, monkeypatch, operation, code):
    s3.put_object(Bucket=BUCKET, Key="uploads/t/a.jpg", Body=pf.plain_jpeg())
    monkeypatch.setattr(handler, "_s3", FailingClient(handler.s3(), operation, code))
    with pytest.raises(ClientError) as err:
        handler.handler(s3_event("uploads/t/a.jpg"), None)
    assert err.value.response["Error"]["Code"] == code


def test_nosuchkey_on_get_is_skipped(s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="uploads/t/a.jpg", Body=pf.plain_jpeg())
    monkeypatch.setattr(handler, "_s3", FailingClient(handler.s3(), "get_object", "NoSuchKey"))
    assert handler.handler(s3_event("uploads/t/a.jpg"), None)["skipped"] == 1
    assert all_objects(s3, "processed/") == {}


def test_replaced_between_head_and_get_is_skipped(s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="uploads/t/a.jpg", Body=pf.plain_jpeg())
    monkeypatch.setattr(handler, "_s3",
                        FailingClient(handler.s3(), "get_object", "PreconditionFailed"))
    assert handler.handler(s3_event("uploads/t/a.jpg"), None)["skipped"] == 1


# ------------------------------------------------------------------ logs

class Ctx:
    aws_request_id = "req-123"


def test_logs_are_json_with_timings_and_no_personal_data(s3, capsys):
    key = "uploads/log1/Rex da Maria Silva.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.phone_jpeg(6))
    s3.put_object(Bucket=BUCKET, Key="uploads/log2/Maria.jpg", Body=pf.TEXT)
    handler.handler(s3_event(key, "uploads/log2/Maria.jpg"), Ctx())
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    ok = next(e for e in lines if e["message"] == "processed")
    assert ok["photo_id"] == "log1" and ok["request_id"] == "req-123"
    assert ok["level"] == "INFO" and ok["status"] == "ok"
    assert ok["source_bytes"] > 0 and set(ok["rendition_bytes"]) == ALL
    for stage in ("head", "get", "image_decode", "image_encode", "put", "total"):
        assert stage in ok["timings_ms"]
    bad = next(e for e in lines if e["message"] == "rejected")
    assert bad["photo_id"] == "log2" and bad["error_code"] == "unsupported"
    assert "Maria" not in out and "Silva" not in out
    assert len(out) < 5000  # no bytes dumped


# ------------------------------------------------------------------ phone formats

@pytest.mark.parametrize("make, fmt", [(pf.heic, "HEIF"), (pf.avif, "AVIF")])
def test_phone_formats_through_the_handler(s3, make, fmt):
    """Identified by content (named .jpg here), rotated, renditions as for JPEG."""
    pid = fmt.lower()
    upload(s3, f"uploads/{pid}/IMG_0001.jpg", make(display=(1500, 2000), orientation=6))
    m = get_manifest(s3, pid)
    assert_ok(m, pid, fmt, 1500, 2000)
    for name in ALL:
        blob, im = rendition(s3, pid, name)
        assert_clean_jpeg(blob, im)
    _, large = rendition(s3, pid, "large")
    assert near(large.getpixel((300, 400)), pf.RED) and near(large.getpixel((900, 400)), pf.GREEN)


@pytest.mark.parametrize("make", [pf.heic, pf.avif])
def test_phone_format_bomb_gets_a_failed_manifest_with_its_size(s3, make):
    upload(s3, "uploads/hbomb/x.heic", pf.with_declared_size(make(display=(64, 48)), 30000, 20000))
    m = get_manifest(s3, "hbomb")
    assert_failed(s3, "hbomb", "too_large")
    assert (m["source"]["width"], m["source"]["height"]) == (30000, 20000)
