"""Small project middleware: Content-Security-Policy and sign-in required."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as _DjangoLoginRequired,
)
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers


class ContentSecurityPolicyMiddleware:
    """Adds the CSP from settings.CONTENT_SECURITY_POLICY to every response."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class LoginRequiredMiddleware(_DjangoLoginRequired):
    """Django's LoginRequiredMiddleware (views opt out with @login_not_required:
    the sign-in page and /healthz), answering JSON endpoints with a 401 JSON
    body instead of a redirect so the upload/poll script can show a message."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "Sessão expirada: entre novamente."}, status=401)
        return super().handle_no_permission(request, view_func)


class CurrentUserMiddleware:
    """Makes the signed-in user and the request (its address) known to signal
    handlers (the photo deletion outbox and deletions write audit entries from a
    pre_delete signal)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from registry.audit import current_request
        from registry.outbox import current_user

        token = current_user.set(getattr(request, "user", None))
        request_token = current_request.set(request)  # its address, for signal-made audit entries
        try:
            return self.get_response(request)
        finally:
            current_request.reset(request_token)
            current_user.reset(token)


class NoStoreMiddleware:
    """Cache-Control: no-store on every response that does not set its own
    (pages, JSON, error pages, the sign-in and lockout pages): any page may show
    personal data, so no browser or proxy keeps a copy. Only static files
    (served by nginx on the instance) are exempt."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.static = settings.STATIC_URL

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response and not request.path.startswith(self.static):
            add_never_cache_headers(response)
        return response


class PasswordChangeRequiredMiddleware:
    """A person whose password was set by someone else (created or reset by
    Administração: registry.staff) is sent to "Trocar minha senha" until they
    choose their own; only that page and signing out stay open (the JSON
    endpoints answer 403 with the reason). The flag is read at sign-in into
    the session (registry.staff.remember_flag_at_sign_in): no query per request."""

    OPEN = ("password_change", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from registry.staff import SESSION_KEY

        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) and not request.path.startswith(settings.STATIC_URL):
            from django.shortcuts import redirect
            from django.urls import Resolver404, resolve

            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in self.OPEN:
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "Troque a sua senha antes de continuar."}, status=403)
                return redirect("password_change")
        return self.get_response(request)
