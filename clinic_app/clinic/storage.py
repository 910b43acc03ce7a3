from django.contrib.staticfiles.storage import ManifestStaticFilesStorage


class StaticStorage(ManifestStaticFilesStorage):
    """Hashed (cache-busting) names after ``collectstatic``; falls back to the
    plain name when the manifest has no entry (e.g. the local run serving static
    straight from the app with CLINIC_SERVE_STATIC=1) instead of failing."""

    manifest_strict = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            return name
