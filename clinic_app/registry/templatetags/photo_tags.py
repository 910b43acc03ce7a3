"""{% principal_photo animal %}: the animal's principal photo as a small square
beside its name (edit form, tutor picker, archive page). Nothing when it has
none, or while it is not processed."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from .. import photos
from ..models import Photo

register = template.Library()


@register.simple_tag
def principal_photo(animal):
    if animal is None or not getattr(animal, "pk", None):
        return ""
    photo = Photo.objects.filter(animal_id=animal.pk, is_primary=True, status=Photo.Status.OK).first()
    if photo is None:
        return ""
    urls = photos.urls(photo)
    if not urls.get("thumb_url"):
        return ""
    return format_html(
        '<img class="principal-photo" src="{}" srcset="{}" sizes="48px" alt="Foto principal de {}" '
        'width="48" height="48">',
        urls["thumb_url"], urls["thumb_srcset"], animal.name,
    )
