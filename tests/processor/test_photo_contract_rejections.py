"""Every way a manifest can be malformed, one case per field and branch, with the
exact error: which field (its path in the document) and what was wrong.

The app logs these messages when it refuses a manifest and a platform engineer
reads them to find the processor bug, so the path and the reason are behaviour.
Also the boundaries of every limit (the longest accepted value and one more),
the optional fields of ``source``, and the exact JSON shape both sides agree on.
"""

from __future__ import annotations

import json

import photo_contract as contract
import pytest

PID = "0123456789abcdef0123456789abcdef"
OTHER = "f" * 32


def ok_dict() -> dict:
    """A valid "ok" manifest, as the processor writes it."""
    return {
        "photo_id": PID,
        "status": "ok",
        "source": {"key": f"uploads/{PID}/a.jpg", "bytes": 10, "format": "JPEG", "width": 4, "height": 3},
        "renditions": {
            r.name: {"key": f"processed/{PID}/{r.name}.jpg", "width": r.box, "height": r.box - 1, "bytes": 100 + r.box,
                     "content_type": "image/jpeg"}
            for r in contract.RENDITIONS
        },
        "error": None,
        "processed_at": "2026-01-01T00:00:00.000Z",
        "processor_version": "1.1.0",
    }


def failed_dict(**error) -> dict:
    data = ok_dict()
    data.update(status="failed", renditions={}, error={"code": "corrupt", "message": "arquivo danificado", **error})
    return data


def _set(path: str, value):
    """A change that sets ``a.b.c`` (dots walk into objects) to value, or deletes it for DELETE."""
    def change(data):
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return change


DELETE = object()


class _Replaced:
    def __init__(self, value):
        self.value = value


def _replace(value):
    """A change that replaces the whole document."""
    return lambda d: _Replaced(value)


def _document(base, change):
    data = base()
    out = change(data)  # edits `data` in place, or returns a replacement document
    return out.value if isinstance(out, _Replaced) else data


S = "s"  # a filler character for length limits

# (case id, base, change, exception class, exact message)
M, U = contract.ManifestError, contract.UnknownStatus
REJECTED = [
    # the document itself
    ("manifest a list", ok_dict, _replace([]), M, "manifest: expected an object, got list"),
    ("manifest null", ok_dict, _replace(None), M, "manifest: expected an object, got NoneType"),
    ("manifest a string", ok_dict, _replace("ok"), M, "manifest: expected an object, got str"),
    # status: checked before anything else, its own error class
    ("status missing", ok_dict, _set("status", DELETE), U, "status: unknown value None"),
    ("status unknown", ok_dict, _set("status", "done"), U, "status: unknown value 'done'"),
    ("status upper case", ok_dict, _set("status", "OK"), U, "status: unknown value 'OK'"),
    ("status a number", ok_dict, _set("status", 1), U, "status: unknown value 1"),
    ("status unknown and renditions malformed", ok_dict,
     lambda d: d.update(status="done", renditions=[]), U, "status: unknown value 'done'"),
    # photo_id
    ("photo_id missing", ok_dict, _set("photo_id", DELETE), M, "photo_id: expected a string of at most 200 characters"),
    ("photo_id a number", ok_dict, _set("photo_id", 12), M, "photo_id: expected a string of at most 200 characters"),
    ("photo_id too long", ok_dict, _set("photo_id", S * 201), M,
     "photo_id: expected a string of at most 200 characters"),
    ("photo_id with a slash", ok_dict, _set("photo_id", "a/b"), M, "photo_id: not a photo id"),
    ("photo_id dot-dot", ok_dict, _set("photo_id", ".."), M, "photo_id: not a photo id"),
    ("photo_id empty", ok_dict, _set("photo_id", ""), M, "photo_id: not a photo id"),
    # source
    ("source missing", ok_dict, _set("source", DELETE), M, "source: expected an object, got NoneType"),
    ("source a list", ok_dict, _set("source", []), M, "source: expected an object, got list"),
    ("source.key missing", ok_dict, _set("source.key", DELETE), M,
     "source.key: expected a string of at most 2000 characters"),
    ("source.key too long", ok_dict, _set("source.key", S * 2001), M,
     "source.key: expected a string of at most 2000 characters"),
    ("source.bytes a string", ok_dict, _set("source.bytes", "10"), M,
     "source.bytes: expected a non-negative integer, got str"),
    ("source.bytes negative", ok_dict, _set("source.bytes", -1), M,
     "source.bytes: expected a non-negative integer, got int"),
    ("source.bytes a bool", ok_dict, _set("source.bytes", True), M,
     "source.bytes: expected a non-negative integer, got bool"),
    ("source.bytes a float", ok_dict, _set("source.bytes", 1.0), M,
     "source.bytes: expected a non-negative integer, got float"),
    ("source.format a number", ok_dict, _set("source.format", 1), M,
     "source.format: expected a string of at most 50 characters"),
    ("source.format too long", ok_dict, _set("source.format", S * 51), M,
     "source.format: expected a string of at most 50 characters"),
    ("source.width a string", ok_dict, _set("source.width", "4"), M,
     "source.width: expected a non-negative integer, got str"),
    ("source.height negative", ok_dict, _set("source.height", -3), M,
     "source.height: expected a non-negative integer, got int"),
    # renditions: the object, its names, each rendition's fields, its key
    ("renditions missing", ok_dict, _set("renditions", DELETE), M, "renditions: expected an object, got NoneType"),
    ("renditions a list", ok_dict, _set("renditions", []), M, "renditions: expected an object, got list"),
    ("rendition name too long", ok_dict, lambda d: d["renditions"].update({S * 51: d["renditions"]["thumb"]}), M,
     "renditions: expected a string of at most 50 characters"),
    ("rendition name unknown", ok_dict, lambda d: d["renditions"].update(huge=d["renditions"]["large"]), M,
     "renditions: unknown rendition 'huge'"),
    ("rendition name unknown at the length limit", ok_dict,
     lambda d: d["renditions"].update({S * 50: d["renditions"]["large"]}), M,
     f"renditions: unknown rendition '{S * 50}'"),
    ("rendition a number", ok_dict, _set("renditions.thumb", 1), M, "renditions.thumb: expected an object, got int"),
    ("rendition.key missing", ok_dict, _set("renditions.medium.key", DELETE), M,
     "renditions.medium.key: expected a string of at most 2000 characters"),
    ("rendition.key too long", ok_dict, _set("renditions.medium.key", S * 2001), M,
     "renditions.medium.key: expected a string of at most 2000 characters"),
    ("rendition.width a string", ok_dict, _set("renditions.thumb.width", "256"), M,
     "renditions.thumb.width: expected a non-negative integer, got str"),
    ("rendition.width missing", ok_dict, _set("renditions.thumb.width", DELETE), M,
     "renditions.thumb.width: expected a non-negative integer, got NoneType"),
    ("rendition.height negative", ok_dict, _set("renditions.large.height", -1), M,
     "renditions.large.height: expected a non-negative integer, got int"),
    ("rendition.height missing", ok_dict, _set("renditions.large.height", DELETE), M,
     "renditions.large.height: expected a non-negative integer, got NoneType"),
    ("rendition.bytes a bool", ok_dict, _set("renditions.thumb.bytes", True), M,
     "renditions.thumb.bytes: expected a non-negative integer, got bool"),
    ("rendition.bytes missing", ok_dict, _set("renditions.thumb.bytes", DELETE), M,
     "renditions.thumb.bytes: expected a non-negative integer, got NoneType"),
    ("rendition.content_type missing", ok_dict, _set("renditions.thumb.content_type", DELETE), M,
     "renditions.thumb.content_type: expected a string of at most 100 characters"),
    ("rendition.content_type too long", ok_dict, _set("renditions.thumb.content_type", S * 101), M,
     "renditions.thumb.content_type: expected a string of at most 100 characters"),
    ("rendition of another photo", ok_dict, _set("renditions.thumb.key", f"processed/{OTHER}/thumb.jpg"), M,
     "renditions.thumb.key: outside processed/<photo_id>/"),
    ("rendition in a sub-folder", ok_dict, _set("renditions.large.key", f"processed/{PID}/x/large.jpg"), M,
     "renditions.large.key: outside processed/<photo_id>/"),
    ("rendition traversal", ok_dict, _set("renditions.large.key", f"processed/{PID}/.."), M,
     "renditions.large.key: outside processed/<photo_id>/"),
    ("rendition is the folder itself", ok_dict, _set("renditions.large.key", f"processed/{PID}/."), M,
     "renditions.large.key: outside processed/<photo_id>/"),
    ("rendition is the folder, no name", ok_dict, _set("renditions.large.key", f"processed/{PID}/"), M,
     "renditions.large.key: outside processed/<photo_id>/"),
    ("rendition is the original", ok_dict, _set("renditions.medium.key", f"uploads/{PID}/a.jpg"), M,
     "renditions.medium.key: outside processed/<photo_id>/"),
    ("rendition is a URL", ok_dict, _set("renditions.medium.key", "https://evil.example/x.jpg"), M,
     "renditions.medium.key: outside processed/<photo_id>/"),
    ("one required rendition missing", ok_dict, _set("renditions.thumb", DELETE), M, "renditions: missing thumb"),
    ("two required renditions missing", ok_dict,
     lambda d: [d["renditions"].pop(n) for n in ("large", "thumb")], M, "renditions: missing large, thumb"),
    ("only the optional rendition", ok_dict,
     lambda d: d.update(renditions={"thumb_hd": d["renditions"]["thumb_hd"]}), M,
     "renditions: missing large, medium, thumb"),
    # error, against the status
    ("ok with an error", ok_dict, _set("error", {"code": "corrupt", "message": "x"}), M,
     "error: must be null when status is ok"),
    ("failed without an error", failed_dict, _set("error", None), M, "error: required when status is failed"),
    ("failed without an error key", failed_dict, _set("error", DELETE), M, "error: required when status is failed"),
    ("failed with renditions", failed_dict, lambda d: d.update(renditions=ok_dict()["renditions"]), M,
     "renditions: must be empty when status is failed"),
    ("error a string", failed_dict, _set("error", "corrupt"), M, "error: expected an object, got str"),
    ("error a list", failed_dict, _set("error", []), M, "error: expected an object, got list"),
    ("error.code empty", failed_dict, _set("error.code", ""), M, "error.code: empty"),
    ("error.code missing", failed_dict, _set("error.code", DELETE), M,
     "error.code: expected a string of at most 50 characters"),
    ("error.code too long", failed_dict, _set("error.code", S * 51), M,
     "error.code: expected a string of at most 50 characters"),
    ("error.message a number", failed_dict, _set("error.message", 1), M,
     "error.message: expected a string of at most 500 characters"),
    ("error.message too long", failed_dict, _set("error.message", S * 501), M,
     "error.message: expected a string of at most 500 characters"),
    # the trailer
    ("processed_at missing", ok_dict, _set("processed_at", DELETE), M,
     "processed_at: expected a string of at most 64 characters"),
    ("processed_at too long", ok_dict, _set("processed_at", S * 65), M,
     "processed_at: expected a string of at most 64 characters"),
    ("processor_version a number", ok_dict, _set("processor_version", 1.1), M,
     "processor_version: expected a string of at most 64 characters"),
    ("processor_version too long", ok_dict, _set("processor_version", S * 65), M,
     "processor_version: expected a string of at most 64 characters"),
]


@pytest.mark.parametrize(("base", "change", "kind", "message"), [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])
def test_from_json_names_the_field_and_the_reason(base, change, kind, message):
    document = _document(base, change)
    with pytest.raises(contract.ManifestError) as caught:
        contract.Manifest.from_json(json.dumps(document))
    assert type(caught.value) is kind
    assert str(caught.value) == message


@pytest.mark.parametrize(("base", "change", "kind", "message"), [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])
def test_from_dict_gives_the_same_errors(base, change, kind, message):
    with pytest.raises(kind) as caught:
        contract.Manifest.from_dict(_document(base, change))
    assert str(caught.value) == message


def test_a_rendition_name_that_is_not_a_string_is_refused():
    """JSON object keys are always strings, but from_dict also takes Python dicts."""
    data = ok_dict()
    data["renditions"][7] = data["renditions"]["thumb"]
    with pytest.raises(contract.ManifestError) as caught:
        contract.Manifest.from_dict(data)
    assert str(caught.value) == "renditions: expected a string of at most 50 characters"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"", "Expecting value: line 1 column 1 (char 0)"),
    ("{\"photo_id\": ", "Expecting value: line 1 column 14 (char 13)"),
])
def test_what_is_not_json_says_so(raw, reason):
    with pytest.raises(contract.ManifestError) as caught:
        contract.Manifest.from_json(raw)
    assert type(caught.value) is contract.ManifestError
    assert str(caught.value) == f"not JSON: {reason}"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bytes_that_are_not_text_are_not_json():
    with pytest.raises(contract.ManifestError) as caught:
        contract.Manifest.from_json(b"\x80\x81{}")
    assert str(caught.value).startswith("not JSON: ")


# --- what is accepted: boundaries and optional fields ---------------------------------------

ACCEPTED = {
    "photo_id of 200 characters": lambda d: _rekey(d, "p" * 200),
    "photo_id of one character": lambda d: _rekey(d, "p"),
    "source.key of 2000 characters": _set("source.key", S * 2000),
    "source.format of 50 characters": _set("source.format", S * 50),
    "source without the optional fields": lambda d: d.update(source={"key": "k"}),
    "source optional fields null": lambda d: d.update(
        source={"key": "k", "bytes": None, "format": None, "width": None, "height": None}),
    "source sizes zero": lambda d: d["source"].update(bytes=0, width=0, height=0),
    "rendition sizes zero": lambda d: d["renditions"]["thumb"].update(width=0, height=0, bytes=0),
    "rendition.key with the longest file name": lambda d: d["renditions"]["thumb"].update(
        key=f"processed/{PID}/" + S * 200),
    "rendition.content_type of 100 characters": _set("renditions.thumb.content_type", S * 100),
    "another content type": _set("renditions.thumb.content_type", "image/webp"),
    "without the optional rendition": _set("renditions.thumb_hd", DELETE),
    "processed_at of 64 characters": _set("processed_at", S * 64),
    "processor_version of 64 characters": _set("processor_version", S * 64),
    "empty trailer": lambda d: d.update(processed_at="", processor_version=""),
    "unknown top-level field (a newer writer)": _set("extra", {"anything": 1}),
}


def _rekey(data: dict, photo_id: str) -> None:
    data["photo_id"] = photo_id
    for name, r in data["renditions"].items():
        r["key"] = f"processed/{photo_id}/{name}.jpg"


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_and_every_value_is_kept(case):
    data = ok_dict()
    ACCEPTED[case](data)
    manifest = contract.Manifest.from_json(json.dumps(data))
    expected = {k: v for k, v in data.items() if k != "extra"}
    expected["source"] = {"bytes": None, "format": None, "width": None, "height": None, **data["source"]}
    assert manifest.to_dict() == expected
    assert contract.Manifest.from_json(manifest.to_json()) == manifest


ACCEPTED_FAILED = {
    "error.code of 50 characters": {"code": S * 50, "message": "m"},
    "error.message of 500 characters": {"code": "corrupt", "message": S * 500},
    "error.message empty": {"code": "too_large", "message": ""},
}


@pytest.mark.parametrize("case", list(ACCEPTED_FAILED))
def test_failed_manifest_boundaries(case):
    data = failed_dict(**ACCEPTED_FAILED[case])
    manifest = contract.Manifest.from_json(json.dumps(data))
    assert manifest.error == contract.Failure(**ACCEPTED_FAILED[case])
    assert manifest.renditions == {} and manifest.status == "failed"
    assert json.loads(manifest.to_json()) == data


def test_the_document_shape_is_exactly_the_agreed_one():
    """Field names and nesting, as the app and the local runner read them."""
    manifest = contract.Manifest(
        photo_id=PID, status=contract.STATUS_OK,
        source=contract.Source(key=f"uploads/{PID}/a.jpg", bytes=10, format="JPEG", width=4, height=3),
        renditions={n: contract.Rendition(key=f"processed/{PID}/{n}.jpg", width=2, height=1, bytes=5)
                    for n in contract.REQUIRED},
        processed_at="t", processor_version="v")
    assert json.loads(manifest.to_json()) == {
        "photo_id": PID, "status": "ok",
        "source": {"key": f"uploads/{PID}/a.jpg", "bytes": 10, "format": "JPEG", "width": 4, "height": 3},
        "renditions": {n: {"key": f"processed/{PID}/{n}.jpg", "width": 2, "height": 1, "bytes": 5,
                           "content_type": "image/jpeg"} for n in contract.REQUIRED},
        "error": None, "processed_at": "t", "processor_version": "v",
    }
    failed = contract.Manifest(photo_id=PID, status=contract.STATUS_FAILED, source=contract.Source(key="k"),
                               error=contract.Failure(code="corrupt", message="não é uma imagem"))
    assert failed.to_json() == (
        '{"photo_id": "' + PID + '", "status": "failed", "source": {"key": "k", "bytes": null, "format": null, '
        '"width": null, "height": null}, "renditions": {}, "error": {"code": "corrupt", "message": '
        '"não é uma imagem"}, "processed_at": "", "processor_version": ""}').encode("utf-8")


# --- the constructor: the same rules, for a manifest the processor builds ----------------------

def _rendition(photo_id=PID, name="large"):
    return contract.Rendition(key=f"processed/{photo_id}/{name}.jpg", width=1, height=1, bytes=1)


def _full(photo_id=PID):
    return {n: _rendition(photo_id, n) for n in contract.REQUIRED}


BUILT = [
    ("photo_id with a slash", dict(photo_id="a/b"), M, "photo_id: not a photo id"),
    ("photo_id not a string", dict(photo_id=5), M, "photo_id: not a photo id"),
    ("status unknown", dict(status="done"), U, "status: unknown value 'done'"),
    ("status unknown with a bad rendition", dict(status="pending", renditions={"huge": _rendition()}), U,
     "status: unknown value 'pending'"),
    ("unknown rendition", dict(renditions={**_full(), "huge": _rendition()}), M, "renditions: unknown rendition 'huge'"),
    ("rendition of another photo", dict(renditions={**_full(), "medium": _rendition(OTHER, "medium")}), M,
     "renditions.medium.key: outside processed/<photo_id>/"),
    ("rendition outside processed/", dict(renditions={**_full(), "thumb": contract.Rendition(
        key=f"uploads/{PID}/thumb.jpg", width=1, height=1, bytes=1)}), M,
     "renditions.thumb.key: outside processed/<photo_id>/"),
    ("missing renditions", dict(renditions={"medium": _rendition(name="medium")}), M, "renditions: missing large, thumb"),
    ("no renditions at all", dict(renditions={}), M, "renditions: missing large, medium, thumb"),
    ("ok with an error", dict(error=contract.Failure(code="corrupt", message="x")), M,
     "error: must be null when status is ok"),
    ("failed without an error", dict(status="failed", renditions={}), M, "error: required when status is failed"),
    ("failed with renditions", dict(status="failed", error=contract.Failure(code="corrupt", message="x")), M,
     "renditions: must be empty when status is failed"),
    ("failed with a foreign rendition", dict(status="failed", renditions={"large": _rendition(OTHER)},
                                             error=contract.Failure(code="corrupt", message="x")), M,
     "renditions.large.key: outside processed/<photo_id>/"),
]


@pytest.mark.parametrize(("changes", "kind", "message"), [c[1:] for c in BUILT], ids=[c[0] for c in BUILT])
def test_the_constructor_refuses_with_the_same_messages(changes, kind, message):
    fields = {"photo_id": PID, "status": "ok", "source": contract.Source(key="k"), "renditions": _full()}
    fields.update(changes)
    with pytest.raises(contract.ManifestError) as caught:
        contract.Manifest(**fields)
    assert type(caught.value) is kind
    assert str(caught.value) == message


def test_the_constructor_accepts_a_failed_manifest_and_the_optional_rendition():
    failed = contract.Manifest(photo_id=PID, status="failed", source=contract.Source(key="k"),
                               error=contract.Failure(code="corrupt", message="x"))
    assert failed.renditions == {} and failed.processed_at == "" and failed.processor_version == ""
    ok = contract.Manifest(photo_id=PID, status="ok", source=contract.Source(key="k"),
                           renditions={**_full(), "thumb_hd": _rendition(name="thumb_hd")})
    assert set(ok.renditions) == {"large", "medium", "thumb", "thumb_hd"}
    assert ok.renditions["large"].content_type == "image/jpeg"


# --- key builders: what they refuse, named in the error ------------------------------------------

@pytest.mark.parametrize("name", ["", None, ".", "..", "a/b", "a b", "x" * 201, "ç.jpg"])
def test_upload_key_refuses_an_unsafe_file_name_and_names_it(name):
    with pytest.raises(ValueError) as caught:
        contract.upload_key(PID, name)
    assert str(caught.value) == f"not a safe file name: {name!r}"


@pytest.mark.parametrize("photo_id", ["", None, "..", "a/b", 7])
def test_key_builders_name_the_bad_photo_id(photo_id):
    for build in (contract.upload_prefix, contract.processed_prefix, contract.manifest_key,
                  lambda p: contract.upload_key(p, "a.jpg"), lambda p: contract.rendition_key(p, "thumb")):
        with pytest.raises(ValueError) as caught:
            build(photo_id)
        assert str(caught.value) == f"not a photo id: {photo_id!r}"


def test_the_longest_safe_file_name_is_accepted():
    assert contract.upload_key(PID, "x" * 200) == f"uploads/{PID}/{'x' * 200}"
