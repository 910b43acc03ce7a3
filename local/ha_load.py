"""A bounded load of staff work against a local clinic (loopback only), with retries.

`clients` signed-in sessions each create `per_client` tutors through the real
form (GET the form for its CSRF token, POST it, follow the redirect to the
tutor's page) and open the tutor list. A request that fails (a 5xx, a refused
or dropped connection) is retried, as a person would press the button again,
up to `retries` times with a short pause. `on_progress(done)` is called after
every finished operation (the kill test uses it to kill an app mid-run).

Used by tests/local/test_ha_run.py (asserts) and bench/ha_bench.py (figures).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests

TIMEOUT = 20
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Failed(Exception):
    pass


@dataclass
class LoadResult:
    run: str
    operations: int = 0
    succeeded: int = 0
    failed_attempts: int = 0  # attempts that failed and were retried
    failed_operations: int = 0  # operations that failed even after every retry
    latencies: list[float] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # tutor name -> id the app answered
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def throughput(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0


def _check(resp: requests.Response, what: str) -> requests.Response:
    if resp.status_code >= 500:
        raise Failed(f"{what}: HTTP {resp.status_code}")
    if resp.status_code != 200:
        raise Failed(f"{what}: unexpected HTTP {resp.status_code}")
    return resp


def _sign_in(session: requests.Session, base: str, user: str, password: str) -> None:
    page = _check(session.get(f"{base}/entrar/", timeout=TIMEOUT), "sign-in page")
    token = _CSRF.search(page.text).group(1)
    resp = _check(session.post(f"{base}/entrar/", data={"username": user, "password": password,
                                                        "csrfmiddlewaretoken": token},
                               headers={"Referer": f"{base}/entrar/"}, timeout=TIMEOUT), "sign in")
    if not urlparse(resp.url).path.rstrip("/").endswith("animais"):
        raise Failed("sign-in refused")


def _create_tutor(session: requests.Session, base: str, name: str) -> int:
    page = _check(session.get(f"{base}/tutores/novo/", timeout=TIMEOUT), "tutor form")
    token = _CSRF.search(page.text).group(1)
    resp = _check(session.post(f"{base}/tutores/novo/",
                               # every load tutor shares a phone: confirm "É outra pessoa" as a
                               # receptionist would after reading the duplicate warning
                               data={"name": name, "phone": "(11) 98765-4321", "city": "São Paulo", "uf": "SP",
                                     "not_duplicate": "on", "csrfmiddlewaretoken": token},
                               headers={"Referer": f"{base}/tutores/novo/"}, timeout=TIMEOUT), "create tutor")
    match = re.search(r"/tutores/(\d+)/$", urlparse(resp.url).path)
    if not match:
        raise Failed("create tutor: the form did not lead to the tutor's page")
    _check(session.get(f"{base}/tutores/", timeout=TIMEOUT), "tutor list")
    return int(match.group(1))


def _with_retries(result: LoadResult, lock: threading.Lock, retries: int, action: Callable[[], object]):
    for attempt in range(retries + 1):
        try:
            return action()
        except (Failed, requests.RequestException, AttributeError) as error:
            with lock:
                if attempt < retries:
                    result.failed_attempts += 1
                else:
                    result.errors.append(str(error)[:200])
            if attempt == retries:
                raise
            time.sleep(0.2 * (attempt + 1))
    return None


def run_load(base: str, password: str, *, clients: int = 4, per_client: int = 30, retries: int = 3,
             user: str = "admin", on_progress: Callable[[int], None] | None = None) -> LoadResult:
    base = base.rstrip("/")
    result = LoadResult(run=uuid.uuid4().hex[:8])
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        try:
            _with_retries(result, lock, retries, lambda: _sign_in(session, base, user, password))
        except Exception:  # noqa: BLE001 - counted in the result
            with lock:
                result.operations += per_client
                result.failed_operations += per_client
            return
        for i in range(per_client):
            name = f"Carga {result.run} {number:02d} {i:04d}"
            start = time.perf_counter()
            try:
                tutor_id = _with_retries(result, lock, retries, lambda name=name: _create_tutor(session, base, name))
            except Exception:  # noqa: BLE001 - counted in the result
                with lock:
                    result.operations += 1
                    result.failed_operations += 1
                    done = result.operations
            else:
                with lock:
                    result.operations += 1
                    result.succeeded += 1
                    result.latencies.append(time.perf_counter() - start)
                    result.created[name] = tutor_id
                    done = result.operations
            if on_progress:
                on_progress(done)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result
