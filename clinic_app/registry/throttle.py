"""Sign-in throttling: after LOGIN_MAX_FAILURES failed attempts for the same
username from the same IP within LOGIN_LOCKOUT_SECONDS, further attempts are
refused (even with the right password) until the window passes."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import LoginFailure

LOCKED_MESSAGE = (
    "Muitas tentativas de acesso sem sucesso. Aguarde alguns minutos e tente novamente."
)


def client_ip(request) -> str:
    # nginx on the same host passes the client in X-Real-IP; trust forwarded
    # headers only from loopback or a unix socket (gunicorn leaves REMOTE_ADDR empty).
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if remote in ("127.0.0.1", "::1", ""):
        real = request.META.get("HTTP_X_REAL_IP") or ""
        if not real:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            real = forwarded.split(",")[-1].strip() if forwarded else ""
        if real:
            return real[:45]
    return remote[:45]


def _window_start():
    return timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def _norm(username: str) -> str:
    return (username or "").strip().lower()[:150]


def is_locked(username: str, ip: str) -> bool:
    count = LoginFailure.objects.filter(username=_norm(username), ip=ip, at__gte=_window_start()).count()
    return count >= settings.LOGIN_MAX_FAILURES


def record_failure(username: str, ip: str) -> None:
    LoginFailure.objects.filter(at__lt=_window_start()).delete()
    LoginFailure.objects.create(username=_norm(username), ip=ip)


def clear(username: str, ip: str) -> None:
    LoginFailure.objects.filter(username=_norm(username), ip=ip).delete()
