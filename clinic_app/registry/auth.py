"""Sign-in limiting on top of django-axes, for every way to sign in.

django-axes hooks ``django.contrib.auth.authenticate()`` itself (its backend is
first in AUTHENTICATION_BACKENDS), so the app's form, /admin/login/ and any
future caller of authenticate() share one limiter. Two things are added to
axes' database handler:

* Admission is atomic. Stock axes checks the count before authenticating and
  adds the failure afterwards, so N parallel requests all pass the check and get
  N tries. Here the check and a reservation (the attempt is counted as a failure
  up front) happen in one transaction under a per-address row lock
  (``SignInGate``); a success takes the reservation back.
* A per-address limit across usernames (LOGIN_MAX_FAILURES_PER_ADDRESS) besides
  axes' username+address limit (AXES_FAILURE_LIMIT).

Every attempt (success, failure, refused while locked) goes to the audit trail;
the password never does (axes passes cleansed credentials to the signals).
"""

from __future__ import annotations

import logging

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.shortcuts import render
from django.utils import timezone

from .models import AuditEntry, SignInGate

log = logging.getLogger(__name__)

LOCKED_MESSAGE = (
    "Muitas tentativas de acesso sem sucesso. Aguarde alguns minutos e tente novamente."
)


def client_ip(request) -> str:
    """The viewer's address. nginx (the only thing in front of gunicorn on the
    instance) resolves it from CloudFront's X-Forwarded-For with real_ip and
    passes it as X-Real-IP; the header is trusted only from loopback or a unix
    socket (gunicorn leaves REMOTE_ADDR empty there)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if remote in ("127.0.0.1", "::1", ""):
        real = (request.META.get("HTTP_X_REAL_IP") or "").strip()
        if real:
            return real[:45]
    return remote[:45] or "0.0.0.0"  # unknown (e.g. force_login): one shared, valid address


def address_of(request) -> str | None:
    """Where a request came from, as the audit trail stores it (None when unknown)."""
    if request is None:
        return None
    ip = client_ip(request)
    return None if ip == "0.0.0.0" else ip


def normalise_username(request, credentials=None) -> str:
    """axes' username key: case and surrounding blanks do not make a new counter."""
    name = ""
    if credentials:
        name = credentials.get("username") or ""
    elif request is not None and request.method == "POST":
        name = request.POST.get("username") or ""
    return str(name).strip().lower()[:150]


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out attempt gets (app form and /admin/login/ alike)."""
    response = render(request, "registration/locked.html", {"message": LOCKED_MESSAGE}, status=429)
    response["Retry-After"] = str(int(get_cool_off(request).total_seconds()))
    return response


def _sum(qs) -> int:
    return qs.aggregate(n=Sum("failures_since_start"))["n"] or 0


def _audit(request, username: str, user, ok: bool, detail: str) -> None:
    path = getattr(request, "path", "")[:60]
    AuditEntry.objects.create(
        object_type="user", object_id=user.pk if user is not None else 0,
        action=AuditEntry.Action.SIGN_IN if ok else AuditEntry.Action.SIGN_IN_FAILED,
        field="acesso", old_value="",
        new_value=f"{detail} · endereço {getattr(request, 'axes_ip_address', '') or client_ip(request)} · {path}",
        user=user, username=username[:150], ip_address=address_of(request),
    )


class ClinicAxesHandler(AxesDatabaseHandler):
    def failures(self, username: str, ip: str) -> tuple[int, int]:
        threshold = timezone.now() - get_cool_off(None)
        recent = AccessAttempt.objects.filter(ip_address=ip, attempt_time__gte=threshold)
        return _sum(recent.filter(username=username)), _sum(recent)

    def is_locked(self, request, credentials=None) -> bool:
        if getattr(request, "clinic_reserved", None):
            return False  # this request was admitted already
        username = get_client_username(request, credentials)
        ip = request.axes_ip_address
        with transaction.atomic():
            # One row per address, locked for the check and the reservation
            # (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the IMMEDIATE
            # transaction already holds the database's write lock).
            SignInGate.objects.get_or_create(ip=ip)
            SignInGate.objects.select_for_update().get(ip=ip)
            per_user, per_ip = self.failures(username, ip)
            if per_user >= settings.AXES_FAILURE_LIMIT or per_ip >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS:
                return True
            attempt, created = AccessAttempt.objects.get_or_create(
                username=username, ip_address=ip, user_agent=request.axes_user_agent,
                defaults={"get_data": "", "post_data": "", "http_accept": request.axes_http_accept,
                          "path_info": request.axes_path_info, "failures_since_start": 1,
                          "attempt_time": request.axes_attempt_time},
            )
            if not created:
                AccessAttempt.objects.filter(pk=attempt.pk).update(
                    failures_since_start=F("failures_since_start") + 1,
                    attempt_time=request.axes_attempt_time, path_info=request.axes_path_info,
                )
        request.clinic_reserved = attempt.pk
        return False

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return
        username = get_client_username(request, credentials)
        if not getattr(request, "clinic_reserved", None):
            # Refused before admission (locked) or never admitted: axes' own path.
            _audit(request, username, None, False,
                   "bloqueado" if getattr(request, "axes_locked_out", False) else "falha")
            return super().user_login_failed(sender, credentials, request, **kwargs)
        # The failure was counted at admission: only decide whether it locks now.
        per_user, per_ip = self.failures(username, request.axes_ip_address)
        locked = per_user >= settings.AXES_FAILURE_LIMIT or per_ip >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS
        if locked:
            request.axes_locked_out = True
            request.axes_credentials = credentials
        if settings.AXES_ENABLE_ACCESS_FAILURE_LOG:
            AccessFailureLog.objects.create(
                username=username, ip_address=request.axes_ip_address, user_agent=request.axes_user_agent,
                http_accept=request.axes_http_accept, path_info=request.axes_path_info,
                attempt_time=request.axes_attempt_time, locked_out=locked,
            )
        _audit(request, username, None, False, "falha" + (" (bloqueado)" if locked else ""))
        log.warning("sign-in failure (%d for this username and address, %d for the address)", per_user, per_ip)

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        username = user.get_username().strip().lower()[:150]
        ip = getattr(request, "axes_ip_address", None) or client_ip(request)
        # The success was not a failure; earlier failures of this username from
        # this address are forgiven. Other usernames' failures from the address stay.
        AccessAttempt.objects.filter(username=username, ip_address=ip).delete()
        _audit(request, user.get_username(), user, True, "sucesso")


class ClinicAxesBackend(AxesStandaloneBackend):
    """axes' backend, except that a call without a request (an operator's
    ``manage.py shell`` or a management command on the instance) is not an
    HTTP sign-in and is not limited; every HTTP sign-in (Django's views, the
    admin's) passes the request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
