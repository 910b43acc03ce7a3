"""`make smoke`: prove a deployed clinic works, end to end, through its public URL.

    make smoke                                 # URL and password from the stack (AWS credentials)
    URL=https://d111.cloudfront.net PASSWORD=... make smoke
    .venv/bin/python scripts/smoke.py --url http://127.0.0.1:8000/ --allow-http   # the local stack

Steps, each timed: HTTPS and the security headers, /healthz, sign in as the
first administrator, create a tutor and an animal, upload a generated JPEG
with the app's presigned POST straight to the bucket, wait for the processed
thumbnail, then delete the photo (app: original, renditions, manifest) and the
two records (Django admin). Clean-up runs even when a step fails. Exit 0 only
when every step passed; otherwise the failing step and its reason.

The same script runs in the test suite against the local stack
(tests/local/test_smoke.py), so it cannot rot.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from urllib.parse import urljoin, urlparse

import requests

from lambda_src.photo_contract import PROCESSED_PREFIX  # the one definition of the prefix

TIMEOUT = 20
# What every page must carry (clinic_app/clinic/settings.py and middleware.py).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


class SmokeFailure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def jpeg(width: int = 800, height: int = 600) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height), (40, 110, 60))
    for x in range(0, width, 50):
        image.paste((230, 200, 60), (x, 0, x + 25, height))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def delete_all_versions(s3, bucket: str, prefixes: list[str]) -> int:
    """Every version and delete marker under each prefix (test data must leave nothing behind)."""
    removed = 0
    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
                removed += 1
    return removed


class Smoke:
    def __init__(self, url: str, password: str, *, allow_http: bool = False, user: str = "admin",
                 processing_timeout: float = 120, s3=None, bucket: str | None = None) -> None:  # fmt: skip
        self.base = url if url.endswith("/") else url + "/"
        self.password = password
        self.allow_http = allow_http
        self.user = user
        self.processing_timeout = processing_timeout
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "clinic-smoke/1"
        self.tag = f"Smoke {time.strftime('%d/%m/%Y %H:%M')} {uuid.uuid4().hex[:6]}"
        self.tutor_id: int | None = None
        self.animal_id: int | None = None
        self.photo_id: str | None = None
        self.upload_key: str | None = None
        # With the operator's credentials: removes every version of the test
        # photo's objects (the instance role may not delete; docs/decisions.md).
        self.s3, self.bucket = s3, bucket
        self.thumb_url: str | None = None
        self.timings: list[tuple[str, float, str]] = []

    # ------------------------------------------------------------ plumbing
    def url(self, path: str) -> str:
        return urljoin(self.base, path)

    def csrf(self, page_text: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_text)
        check(match is not None, "no CSRF token on the form page")
        return match.group(1)

    def post_form(self, path: str, data: dict, expect_path: str | None = None) -> requests.Response:
        page = self.http.get(self.url(path), timeout=TIMEOUT)
        check(page.status_code == 200, f"GET {path} answered {page.status_code}")
        resp = self.http.post(
            self.url(path), data={**data, "csrfmiddlewaretoken": self.csrf(page.text)},
            headers={"Referer": self.url(path)}, timeout=TIMEOUT,
        )  # fmt: skip
        check(resp.status_code == 200, f"POST {path} answered {resp.status_code}")
        if expect_path:
            check(re.search(expect_path, urlparse(resp.url).path) is not None,
                  f"POST {path} ended on {urlparse(resp.url).path}, expected {expect_path} (form error?)")  # fmt: skip
        return resp

    def api(self, path: str, data: dict) -> requests.Response:
        return self.http.post(
            self.url(path), data=data, timeout=TIMEOUT,
            headers={"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": self.base, "Accept": "application/json"},
        )  # fmt: skip

    # ------------------------------------------------------------ steps
    def https_and_headers(self) -> str:
        resp = self.http.get(self.url("entrar/"), timeout=TIMEOUT)
        check(resp.status_code == 200, f"sign-in page answered {resp.status_code}")
        for name, needle in SECURITY_HEADERS.items():
            check(needle in resp.headers.get(name, ""), f"header {name} missing or wrong: {resp.headers.get(name)!r}")
        if self.allow_http:
            return "security headers present (HTTPS not checked: --allow-http)"
        check(urlparse(resp.url).scheme == "https", f"the sign-in page was served over {urlparse(resp.url).scheme}")
        check("max-age=" in resp.headers.get("Strict-Transport-Security", ""), "no Strict-Transport-Security header")
        plain = self.http.get(self.url("entrar/").replace("https://", "http://", 1), timeout=TIMEOUT, allow_redirects=False)
        check(plain.status_code in (301, 302, 307, 308) and plain.headers.get("Location", "").startswith("https://"),
              f"plain HTTP answered {plain.status_code} without a redirect to HTTPS")  # fmt: skip
        return "HTTPS, HTTP redirected, HSTS and security headers present"

    def healthz(self) -> str:
        resp = self.http.get(self.url("healthz"), timeout=TIMEOUT)
        check(resp.status_code == 200 and resp.text.strip() == "ok", f"/healthz answered {resp.status_code} {resp.text[:80]!r}")
        return "ok"

    def sign_in(self) -> str:
        resp = self.post_form("entrar/", {"username": self.user, "password": self.password})
        check(urlparse(resp.url).path.rstrip("/").endswith("animais"),
              "sign-in failed (wrong password, or the account is locked after failed attempts)")  # fmt: skip
        return f"signed in as {self.user}"

    def create_tutor(self) -> str:
        resp = self.post_form(
            # the demo tutor consents to photos (the app refuses uploads without it, LGPD)
            "tutores/novo/", {"name": f"Tutor {self.tag}", "phone": "(11) 98765-4321", "city": "São Paulo", "uf": "SP",
                              "consent_photos": "on", "consent_method": "signed"},
            expect_path=r"/tutores/\d+/$",
        )  # fmt: skip
        self.tutor_id = int(re.search(r"/tutores/(\d+)/$", urlparse(resp.url).path).group(1))
        return f"tutor {self.tutor_id}"

    def create_animal(self) -> str:
        resp = self.post_form(
            f"animais/novo/?tutor={self.tutor_id}",
            {"name": f"Animal {self.tag}", "species": "dog", "sex": "unknown", "tutor": self.tutor_id},
            expect_path=r"/animais/\d+/$",
        )  # fmt: skip
        self.animal_id = int(re.search(r"/animais/(\d+)/$", urlparse(resp.url).path).group(1))
        return f"animal {self.animal_id}"

    def upload_photo(self) -> str:
        body = jpeg()
        resp = self.api(f"api/animais/{self.animal_id}/fotos/presign",
                        {"filename": "smoke.jpg", "content_type": "image/jpeg", "size": len(body)})  # fmt: skip
        check(resp.status_code == 200, f"presign answered {resp.status_code}: {resp.text[:200]}")
        presign = resp.json()
        self.photo_id, self.upload_key = presign["photo_id"], presign["key"]
        if not self.allow_http:
            check(presign["url"].startswith("https://"), f"presigned POST goes to {presign['url']}, not HTTPS")
        # Straight to the bucket, as the browser does: the presigned fields, the file last.
        origin = f"{urlparse(self.base).scheme}://{urlparse(self.base).netloc}"
        upload = requests.post(
            presign["url"], data=presign["fields"], files={"file": ("smoke.jpg", body, "image/jpeg")},
            headers={"Origin": origin}, timeout=60,
        )  # fmt: skip
        check(upload.status_code in (200, 201, 204), f"S3 refused the presigned POST: {upload.status_code} {upload.text[:300]}")
        allowed = upload.headers.get("Access-Control-Allow-Origin")
        check(allowed in (origin, None) if self.allow_http else allowed == origin,
              f"the bucket's CORS does not allow {origin} (Access-Control-Allow-Origin: {allowed!r}); browsers would fail")  # fmt: skip
        resp = self.api(f"api/animais/{self.animal_id}/fotos/confirm", {"token": presign["token"]})
        check(resp.status_code in (200, 201), f"confirm answered {resp.status_code}: {resp.text[:200]}")
        return f"{len(body)} bytes to {urlparse(presign['url']).netloc}, photo {self.photo_id}"

    def wait_for_thumbnail(self) -> str:
        deadline = time.monotonic() + self.processing_timeout
        status = {}
        while time.monotonic() < deadline:
            resp = self.http.get(self.url(f"api/fotos/{self.photo_id}"), headers={"Accept": "application/json"}, timeout=TIMEOUT)
            if resp.status_code == 200:
                status = resp.json()
                if status["status"] == "ok" and status.get("thumb_url"):
                    break
                check(status["status"] != "failed", f"the processor failed the photo: {status.get('error')}")
            time.sleep(1)
        else:
            raise SmokeFailure(f"no thumbnail within {self.processing_timeout:.0f} s (last status {status.get('status')!r})")
        self.thumb_url = status["thumb_url"]
        thumb = requests.get(self.thumb_url, timeout=TIMEOUT)
        check(thumb.status_code == 200 and thumb.headers.get("Content-Type", "").startswith("image/"),
              f"thumbnail URL answered {thumb.status_code} {thumb.headers.get('Content-Type')}")  # fmt: skip
        return f"thumbnail {len(thumb.content)} bytes"

    # ------------------------------------------------------------ clean-up
    def delete_photo(self) -> str:
        page = self.http.get(self.url(f"animais/{self.animal_id}/"), timeout=TIMEOUT)
        resp = self.http.post(
            self.url(f"fotos/{self.photo_id}/excluir"), data={"csrfmiddlewaretoken": self.csrf(page.text)},
            headers={"Referer": self.url(f"animais/{self.animal_id}/")}, timeout=TIMEOUT,
        )  # fmt: skip
        check(resp.status_code == 200, f"deleting the photo answered {resp.status_code}")
        prefixes = [p for p in (self.upload_key, f"{PROCESSED_PREFIX}{self.photo_id}/") if p]
        # The app's side: the record is gone and its status says so (410).
        status = self.http.get(self.url(f"api/fotos/{self.photo_id}"), timeout=TIMEOUT)
        check(status.status_code == 410 and status.json().get("status") == "deleted",
              f"the photo's status after the delete answered {status.status_code}")  # fmt: skip
        how = "by the app (its deletion outbox leaves delete markers)"
        if self.s3 is not None and self.bucket:
            removed = delete_all_versions(self.s3, self.bucket, prefixes)
            how = f"by the app; {removed} object versions removed from {self.bucket}"
            if self.thumb_url:
                # Links pin the rendition's version, so only with every version
                # gone must the (short-lived) link stop working.
                gone = requests.get(self.thumb_url, timeout=TIMEOUT)
                check(
                    gone.status_code in (403, 404),
                    f"the thumbnail is still served after the delete ({gone.status_code}); remove the files: "
                    + "; ".join(f"aws s3 rm s3://<PhotoBucketName>/{p} --recursive" for p in prefixes),
                )
        return f"photo {self.photo_id} and its renditions deleted {how}"

    def delete_record(self, model: str, pk: int) -> str:
        self.post_form(f"admin/registry/{model}/{pk}/delete/", {"post": "yes"}, expect_path=rf"/admin/registry/{model}/$")
        gone = self.http.get(self.url(f"admin/registry/{model}/{pk}/change/"), timeout=TIMEOUT, allow_redirects=False)
        check(gone.status_code in (302, 404), f"{model} {pk} still exists after the delete")
        return f"{model} {pk} deleted"

    # ------------------------------------------------------------ driver
    def step(self, name: str, action: Callable[[], str]) -> None:
        start = time.monotonic()
        try:
            detail = action()
        except SmokeFailure as failure:
            self.timings.append((name, time.monotonic() - start, f"FAIL {failure}"))
            raise
        except requests.RequestException as error:
            self.timings.append((name, time.monotonic() - start, f"FAIL {error}"))
            raise SmokeFailure(f"{name}: {error}") from error
        self.timings.append((name, time.monotonic() - start, detail))
        print(f"PASS  {name:<22} {self.timings[-1][1]:7.2f} s  {detail}", flush=True)

    def run(self) -> int:
        failure = None
        try:
            self.step("HTTPS and headers", self.https_and_headers)
            self.step("healthz", self.healthz)
            self.step("sign in", self.sign_in)
            self.step("create tutor", self.create_tutor)
            self.step("create animal", self.create_animal)
            self.step("upload photo to S3", self.upload_photo)
            self.step("processed thumbnail", self.wait_for_thumbnail)
        except SmokeFailure as error:
            failure = error
            name, seconds, detail = self.timings[-1]
            print(f"FAIL  {name:<22} {seconds:7.2f} s  {detail.removeprefix('FAIL ')}", flush=True)
        cleanup_failed = self.clean_up()
        total = sum(t for _, t, _ in self.timings)
        if failure or cleanup_failed:
            print(f">> smoke FAILED after {total:.1f} s: {failure or 'clean-up incomplete (see above)'}")
            return 1
        print(f">> smoke passed in {total:.1f} s")
        return 0

    def clean_up(self) -> bool:
        failed = False
        for name, needed, action in (
            ("delete photo", self.photo_id and self.animal_id, self.delete_photo),
            ("delete animal", self.animal_id, lambda: self.delete_record("animal", self.animal_id)),
            ("delete tutor", self.tutor_id, lambda: self.delete_record("tutor", self.tutor_id)),
        ):
            if not needed:
                continue
            try:
                self.step(name, action)
            except SmokeFailure as error:
                failed = True
                print(f"FAIL  {name:<22}          {error}  (remove it by hand: the records are tagged '{self.tag}')")
        return failed


def from_stack(stack: str, region: str | None) -> tuple[str, str, object, str]:
    """URL, first admin password, an S3 client and the photo bucket of a deployed stack."""
    import boto3

    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION"))
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    if "AppUrl" not in outputs:
        raise SmokeFailure(f"stack {stack} has no AppUrl output (is the deploy finished?)")
    password = os.environ.get("PASSWORD") or session.client("secretsmanager").get_secret_value(
        SecretId=outputs["AdminPasswordSecretArn"]
    )["SecretString"]
    return outputs["AppUrl"], password, session.client("s3"), outputs.get("PhotoBucketName")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("URL"), help="the clinic's URL (default: the stack's AppUrl)")
    parser.add_argument("--stack", default="ClinicStack")
    parser.add_argument("--region", default=None)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--allow-http", action="store_true", help="only for the local http stack: skip the HTTPS checks")
    parser.add_argument("--processing-timeout", type=float, default=120)
    parser.add_argument("--bucket", help="with --url and AWS credentials: remove the test photo's object versions")
    args = parser.parse_args(argv)
    s3 = None
    bucket = args.bucket
    try:
        if args.url:
            password = os.environ.get("PASSWORD")
            if not password:
                print("FAIL  settings: set PASSWORD=... with URL=... (the first administrator's password)")
                return 1
            url = args.url
            if bucket:
                import boto3

                s3 = boto3.session.Session(region_name=args.region).client("s3")
        else:
            url, password, s3, bucket = from_stack(args.stack, args.region)
    except Exception as error:  # noqa: BLE001 - no URL means no smoke test; say why
        print(f"FAIL  stack outputs: {error}")
        return 1
    if urlparse(url).scheme != "https" and not args.allow_http:
        print(f"FAIL  settings: {url} is not HTTPS (use --allow-http only for the local stack)")
        return 1
    print(f">> smoke test of {url}")
    smoke = Smoke(url, password, allow_http=args.allow_http, user=args.user,
                  processing_timeout=args.processing_timeout, s3=s3, bucket=bucket)  # fmt: skip
    return smoke.run()


if __name__ == "__main__":
    sys.exit(main())
