from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

from clinic.paths import ADMIN_PREFIX

urlpatterns = [
    path(ADMIN_PREFIX.lstrip("/"), admin.site.urls),
    path("", include("registry.urls")),
]

if settings.SERVE_STATIC:
    _static = settings.STATIC_URL.lstrip("/")
    urlpatterns.append(
        re_path(rf"^{_static}(?P<path>.*)$", login_not_required(serve), {"insecure": True}),
    )

handler404 = "registry.views.error_404"
handler403 = "registry.views.error_403"
