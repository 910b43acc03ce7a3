"""Pages and small JSON endpoints of the Sistema da Clínica."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import audit, consent, duplicates, editing, export, lgpd, merge, outbox, photos, printing, s3, search
from .forms import (
    AnimalForm,
    AnimalSearchForm,
    TutorForm,
    TutorSearchForm,
)
from .models import Animal, AuditEntry, Photo, PhotoDeletion, Tutor
from .validators import normalise_cpf

log = logging.getLogger(__name__)

ANIMAL_FORM_FIELDS = list(AnimalForm.Meta.fields)
ANIMAL_AUDITED = [*ANIMAL_FORM_FIELDS, "is_active"]
TUTOR_AUDITED = list(TutorForm.Meta.fields)


def perm(codename: str):
    """permission_required that answers 403 (not a login loop) to signed-in users."""
    return permission_required(f"registry.{codename}", raise_exception=True)


# --- health / auth -----------------------------------------------------------

@login_not_required
@never_cache
@require_GET
def healthz(request):
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a failure leaves no aborted transaction
            cursor.execute("SELECT 1")
            cursor.fetchone()
            Animal.objects.only("id").first()  # schema is migrated and readable
    except Exception:
        log.exception("healthz: database unusable")
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


class LoginView(auth_views.LoginView):
    # Limiting and auditing happen in authenticate() itself (registry.auth).
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out, then say so on the sign-in page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "Você saiu do sistema. Até a próxima!")
        return response


# --- animals -------------------------------------------------------------------

def _search_params(request) -> tuple[AnimalSearchForm, dict]:
    form = AnimalSearchForm(request.GET or None)
    params = {"q": "", "species": "", "active": "1", "per_page": 25}
    if form.is_bound and form.is_valid():
        for key in params:
            value = form.cleaned_data.get(key)
            if value not in (None, ""):
                params[key] = value
    return form, params


def _url_pattern(name: str):
    """reverse() once with a placeholder; rows format it (reverse per row is costly)."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


def _animal_rows(animals, result=None) -> list[dict]:
    animal_url, tutor_url = _url_pattern("animal_detail"), _url_pattern("tutor_detail")
    rows = []
    for animal in animals:
        primary = animal.primary_photos[0] if animal.primary_photos else None
        rows.append({"animal": animal, "photo": primary,
                     "url": animal_url.format(animal.pk), "tutor_url": tutor_url.format(animal.tutor_id),
                     "thumb_url": photos.rendition_url(primary, "thumb") if primary else None,
                     "why": search.explain_animal(result, animal) if result else []})
    return rows


@perm("view_animal")
@require_GET
def animal_list(request):
    form, params = _search_params(request)
    result = search.search_animals(params["q"], params["species"], params["active"]) if params["q"] else None
    if result is not None:  # ranked ids from the search index; this page's rows in one query
        page = Paginator(result.ids, params["per_page"]).get_page(request.GET.get("page"))
        page.object_list = search.ordered(search.with_list_relations(Animal.objects.all()), list(page.object_list))
    else:
        qs = search.animal_queryset(params["species"], params["active"])
        page = search.DeferredJoinPaginator(qs, params["per_page"], load=search.with_list_relations,
                                            probe=False).get_page(request.GET.get("page"))
    rows = _animal_rows(page.object_list, result)
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(request, "registry/animal_list.html", {
        "form": form, "page": page, "rows": rows, "params": params,
        "species_choices": form.fields["species"].choices[1:], "active_choices": AnimalSearchForm.ACTIVE_CHOICES,
        "per_page_choices": AnimalSearchForm.PER_PAGE_CHOICES,
        "query": urlencode(query), "export_query": urlencode({k: v for k, v in query.items() if k != "per_page"}),
        "result": result, "archived_query": urlencode({**query, "active": "0"}),
    })


@perm("export_animal")
@require_GET
def animal_export(request):
    """The list's current filter as a CSV (columns and spreadsheet rules: registry.export)."""
    form, params = _search_params(request)
    if form.is_bound and not form.is_valid():
        # never fall back to the whole register on a filter we did not understand
        return render(request, "400.html", {
            "message": "Filtro inválido para a exportação: nada foi exportado. Corrija o filtro na lista e exporte de novo.",
            "errors": [f"{form.fields[f].label}: {' '.join(e)}" if f in form.fields else " ".join(e)
                       for f, e in form.errors.items()],
        }, status=400)
    animals = search.export_animals(params["q"], params["species"], params["active"])
    log.info("animal export by user id %s", request.user.pk)
    audit.event("export", 0, AuditEntry.Action.EXPORT, request.user, field="animais (CSV)",
                new=audit.export_filter(params), request=request)
    response = StreamingHttpResponse(export.rows(animals), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    response["Cache-Control"] = "no-store"
    return response


def _tutor_from_param(request):
    tutor_id = request.GET.get("tutor") or request.POST.get("tutor")
    if tutor_id and str(tutor_id).isascii() and str(tutor_id).isdigit():
        return Tutor.objects.filter(pk=int(tutor_id)).first()
    return None


def _tutor_picker(request, template_ctx: dict):
    form = TutorSearchForm(request.GET or None)
    q = form.cleaned_data.get("q", "") if form.is_valid() else ""
    result = search.search_tutors(q, limit=30) if q else None
    tutors = search.ordered(Tutor.objects.all(), result.ids) if result else []
    for t in tutors:
        t.why = search.explain_tutor(result, t)
    template_ctx.update({"picker_form": form, "picker_results": tutors, "picker_q": q, "result": result})
    return render(request, "registry/tutor_picker.html", template_ctx)


@perm("add_animal")
def animal_create(request):
    tutor = _tutor_from_param(request)
    if tutor is None:
        return _tutor_picker(request, {"title": "Novo animal: escolha o tutor", "next_url": reverse("animal_create")})
    if request.method == "POST":
        form = AnimalForm(request.POST)
        if form.is_valid():
            animal = editing.create(form, request.user, request=request)
            if animal is not None:
                messages.success(request, f"Animal “{animal.name}” cadastrado.")
                if request.POST.get("save_another"):  # next animal of the same tutor, blank form
                    return redirect(reverse("animal_create") + f"?tutor={animal.tutor_id}")
                return redirect("animal_detail", pk=animal.pk)
    else:
        form = AnimalForm(initial={"tutor": tutor.pk})
    return render(request, "registry/animal_form.html", {"form": form, "tutor": tutor, "animal": None})


@perm("change_animal")
def animal_edit(request, pk: int):
    animal = Animal.objects.select_related("tutor").filter(pk=pk).first()
    if animal is None:  # merged into another while the form was open: say so, lead there
        return _merged_or_404(request, "animal", pk, editing=True)
    new_tutor = _tutor_from_param(request) if request.method == "GET" else None
    if request.GET.get("change_tutor") and new_tutor is None:
        return _tutor_picker(request, {"title": f"Trocar o tutor de {animal.name}",
                                       "next_url": reverse("animal_edit", args=[animal.pk]), "animal": animal})
    if request.method == "POST":
        form = AnimalForm(request.POST, instance=animal)
        if form.is_valid():
            try:
                saved, n = editing.update(form, Animal, animal.pk, ANIMAL_FORM_FIELDS, ANIMAL_AUDITED, request.user,
                                          request=request)
            except editing.Stale as stale:
                fresh, info = editing.conflict(form, AnimalForm, stale.current, ANIMAL_FORM_FIELDS)
                tutor = fresh.initial.get("tutor") and Tutor.objects.filter(pk=fresh.initial["tutor"]).first()
                return render(request, "registry/animal_form.html",
                              {"form": fresh, "tutor": tutor or stale.current.tutor, "animal": stale.current,
                               "conflict": info}, status=409)
            if saved is not None:
                messages.success(request, "Alterações salvas." if n else "Nenhuma alteração.")
                return redirect("animal_detail", pk=saved.pk)
        tutor = form.cleaned_data.get("tutor") or animal.tutor
    else:
        initial = {"tutor": new_tutor.pk} if new_tutor else {}
        initial["edit_token"] = editing.edit_token(animal, ANIMAL_FORM_FIELDS)
        form = AnimalForm(instance=animal, initial=initial)
        tutor = new_tutor or animal.tutor
        audit.viewed(animal, request, "edição")
    return render(request, "registry/animal_form.html", {"form": form, "tutor": tutor, "animal": animal})


@perm("view_animal")
@require_GET
def animal_detail(request, pk: int):
    animal = Animal.objects.select_related("tutor", "species", "created_by", "updated_by").filter(pk=pk).first()
    if animal is None:
        return _merged_or_404(request, "animal", pk)
    gallery = [{"photo": p, **(photos.urls(p) if p.status == Photo.Status.OK else {}),
                "error": s3.error_message(p.error_code) if p.status == Photo.Status.FAILED else ""}
               for p in animal.photos.select_related("uploaded_by")]
    principal = next((item for item in gallery if item["photo"].is_primary and item.get("thumb_url")), None)
    audit.viewed(animal, request, "ficha")  # the page shows the tutor's name and contacts
    return render(request, "registry/animal_detail.html", {
        "animal": animal, "gallery": gallery, "principal": principal, "audit": audit.entries_for(animal),
        "thumb_sizes": photos.THUMB_SIZES,
        "photo_consent": consent.has_photo_consent(animal.tutor_id),
        "upload_config": photos.upload_config(), "upload_accept": photos.UPLOAD_ACCEPT,
    })


@perm("view_animal")
@require_GET
def animal_card(request, pk: int):
    """Printable patient card / label: photo, name, species, tutor, microchip, QR code to the record."""
    animal = get_object_or_404(Animal.objects.select_related("tutor"), pk=pk)
    primary = animal.photos.filter(is_primary=True).first()
    url = request.build_absolute_uri(reverse("animal_detail", args=[animal.pk]))
    audit.viewed(animal, request, "etiqueta")
    return render(request, "registry/animal_card.html", {
        "animal": animal, "thumb_url": photos.rendition_url(primary, "thumb") if primary else None,
        "qr": printing.qr_svg(url, f"QR code: ficha de {animal.name}"), "record_url": url,
    })


def _merged_or_404(request, kind: str, pk: int, editing: bool = False):
    """An old link to a record merged into another leads to the survivor; an
    edit form opened on it before the merge is not saved (the survivor's
    values were chosen in the merge), and the page says so."""
    survivor = merge.survivor_of(kind, pk)
    if survivor is None:
        raise Http404("não encontrado")
    if editing and request.method == "POST":
        messages.warning(request, f"O cadastro nº {pk} foi mesclado a este enquanto você o editava: as suas "
                                  "alterações não foram salvas. Confira os dados e edite este cadastro.")
        return redirect(f"{kind}_detail", pk=survivor)
    messages.info(request, f"O cadastro nº {pk} foi mesclado a este.")
    return redirect(f"{kind}_edit" if editing else f"{kind}_detail", pk=survivor)


def _set_active(request, pk: int, active: bool):
    """Archive (active=False) or reactivate (True): a state, not a toggle, so a
    double submit or a stale page never flips the animal back."""
    animal = get_object_or_404(Animal.objects.select_related("tutor"), pk=pk)
    if request.method == "POST":
        with transaction.atomic():
            current = Animal.objects.select_for_update().get(pk=pk)
            if current.is_active == active:
                changed = False
            else:
                before = audit.snapshot(current, ["is_active"])
                current.is_active = active
                current.updated_by = request.user
                current.save(update_fields=["is_active", "updated_by", "updated_at"])
                audit.record_changes(current, before, request.user, action=AuditEntry.Action.ARCHIVE,
                                     request=request)
                changed = True
        if changed:
            messages.success(request, f"“{animal.name}” " + ("reativado." if active else "arquivado."))
        else:
            messages.info(request, f"“{animal.name}” já estava " + ("ativo." if active else "arquivado."))
        return redirect("animal_detail", pk=animal.pk)
    return render(request, "registry/animal_archive.html", {"animal": animal, "reactivate": active})


@perm("archive_animal")
def animal_archive(request, pk: int):
    return _set_active(request, pk, False)


@perm("archive_animal")
def animal_reactivate(request, pk: int):
    return _set_active(request, pk, True)


def _api_or_page(request, status: int, message: str, template: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message, "status": status}, status=status)
    return render(request, template, status=status)


@login_not_required
def error_404(request, exception=None):
    """handler404: the pt-BR page, or JSON for the API (photos.js reads it)."""
    return _api_or_page(request, 404, "Não encontrado.", "404.html")


@login_not_required
def error_403(request, exception=None):
    return _api_or_page(request, 403, "Você não tem permissão para esta ação.", "403.html")


@login_not_required
def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the app's layout, in pt-BR (the reason is not shown)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "A página expirou. Recarregue a página e tente de novo."}, status=403)
    return render(request, "403_csrf.html", status=403)


# --- tutors --------------------------------------------------------------------

@perm("view_tutor")
@require_GET
def tutor_list(request):
    form = TutorSearchForm(request.GET or None)
    q = form.cleaned_data.get("q", "") if form.is_valid() else ""
    result = search.search_tutors(q) if q else None
    if result is not None:
        page = Paginator(result.ids, 25).get_page(request.GET.get("page"))
        page.object_list = search.ordered(Tutor.objects.all(), list(page.object_list))
        for t in page.object_list:
            t.why = search.explain_tutor(result, t)
    else:
        page = Paginator(Tutor.objects.order_by("search_name", "id"), 25).get_page(request.GET.get("page"))
    query = urlencode({"q": q}) if q else ""
    return render(request, "registry/tutor_list.html", {"form": form, "page": page, "query": query,
                                                        "result": result})


@perm("add_tutor")
def tutor_create(request):
    # a fixed flag, not a URL: nothing to redirect elsewhere
    then_animal = (request.POST.get("para") or request.GET.get("para")) == "animal" \
        and request.user.has_perm("registry.add_animal")
    if request.method == "POST":
        form = TutorForm(request.POST)
        consent_form = consent.NewTutorConsentForm(request.POST)
        dups = duplicates.find(form.cleaned_data) if form.is_valid() else []
        if form.is_valid() and consent_form.is_valid() and (not dups or form.cleaned_data["not_duplicate"]):
            tutor = editing.create(form, request.user, request=request)  # None: a unique race, now a form error
            if tutor is not None:
                consent_form.save(tutor, request.user, request=request)
                messages.success(request, f"Tutor “{tutor.name}” cadastrado.")
                if then_animal:  # came from "+ Novo animal": back to it with this tutor chosen
                    return redirect(reverse("animal_create") + f"?tutor={tutor.pk}")
                return redirect("tutor_detail", pk=tutor.pk)
        cpf_clash = _cpf_clash(form)
    else:
        form, dups, cpf_clash = TutorForm(), [], None
        consent_form = consent.NewTutorConsentForm()
    return render(request, "registry/tutor_form.html", {"form": form, "tutor": None, "duplicates": dups,
                                                        "cpf_clash": cpf_clash, "then_animal": then_animal,
                                                        "consent_form": consent_form})


def _cpf_clash(form, exclude_pk=None):
    """The tutor who already has the CPF typed (to link to), if that is the CPF's error."""
    if "cpf" not in form.errors:
        return None
    try:
        cpf = normalise_cpf(form.data.get("cpf"))
    except Exception:
        return None
    return Tutor.objects.filter(cpf=cpf).exclude(pk=exclude_pk).first() if cpf else None


@perm("change_tutor")
def tutor_edit(request, pk: int):
    tutor = Tutor.objects.filter(pk=pk).first()
    if tutor is None:  # merged into another while the form was open: say so, lead there
        return _merged_or_404(request, "tutor", pk, editing=True)
    if request.method == "POST":
        form = TutorForm(request.POST, instance=tutor)
        if form.is_valid():
            try:
                saved, n = editing.update(form, Tutor, tutor.pk, TUTOR_AUDITED, TUTOR_AUDITED, request.user,
                                          request=request)
            except editing.Stale as stale:
                fresh, info = editing.conflict(form, TutorForm, stale.current, TUTOR_AUDITED)
                return render(request, "registry/tutor_form.html",
                              {"form": fresh, "tutor": stale.current, "conflict": info}, status=409)
            if saved is not None:
                messages.success(request, "Alterações salvas." if n else "Nenhuma alteração.")
                return redirect("tutor_detail", pk=saved.pk)
    else:
        form = TutorForm(instance=tutor, initial={"edit_token": editing.edit_token(tutor, TUTOR_AUDITED)})
        audit.viewed(tutor, request, "edição")
    return render(request, "registry/tutor_form.html", {"form": form, "tutor": tutor})


@perm("view_tutor")
@require_GET
def tutor_detail(request, pk: int):
    tutor = Tutor.objects.select_related("created_by", "updated_by").filter(pk=pk).first()
    if tutor is None:
        return _merged_or_404(request, "tutor", pk)
    animals = search.with_list_relations(tutor.animals.order_by("-is_active", "search_name", "id"))
    rows = _animal_rows(animals)
    audit.viewed(tutor, request, "ficha")
    return render(request, "registry/tutor_detail.html", {"tutor": tutor, "rows": rows,
                                                          "audit": audit.entries_for(tutor),
                                                          **lgpd.tutor_page_context(tutor)})


# --- photos --------------------------------------------------------------------

def _json_error(message: str, status: int = 400):
    return JsonResponse({"error": message}, status=status)


@perm("add_photo")
@require_POST
def photo_presign(request, pk: int):
    animal = get_object_or_404(Animal, pk=pk)
    if not consent.has_photo_consent(animal.tutor_id):  # LGPD: no photo without the tutor's consent
        return _json_error(consent.NO_PHOTO_CONSENT_TEXT, 409)
    filename = (request.POST.get("filename") or "").strip()
    content_type = (request.POST.get("content_type") or "").strip().lower()
    try:
        size = int(request.POST.get("size") or 0)
    except ValueError:
        size = 0
    if not content_type.startswith("image/") or len(content_type) > 100:
        return _json_error(s3.NOT_AN_IMAGE_TEXT)
    if size < 1:
        return _json_error(s3.EMPTY_TEXT)
    if size > settings.PHOTO_MAX_BYTES:
        return _json_error(s3.TOO_BIG_TEXT)
    photo_id = uuid.uuid4().hex
    key = s3.upload_key(photo_id, filename)
    try:
        post = s3.presigned_post(key, content_type)
    except Exception:
        log.exception("presign failed")
        return _json_error("Armazenamento de fotos indisponível. Tente novamente em instantes.", 503)
    token = photos.UploadTicket(photo_id=photo_id, key=key, animal_id=animal.pk, user_id=request.user.pk,
                                original_name=filename[:255] or "foto").sign()
    return JsonResponse({"photo_id": photo_id, "key": key, "url": post["url"], "fields": post["fields"],
                         "token": token, "expires_in": settings.PHOTO_UPLOAD_EXPIRES})


@perm("add_photo")
@require_POST
def photo_confirm(request, pk: int):
    animal = get_object_or_404(Animal, pk=pk)
    ticket = photos.UploadTicket.open(request.POST.get("token"), max_age=settings.PHOTO_UPLOAD_EXPIRES + 600)
    if ticket is None:
        return _json_error("Envio expirado ou inválido. Tente enviar a foto de novo.")
    if ticket.animal_id != animal.pk or ticket.user_id != request.user.pk:
        return _json_error("Envio inválido para este animal.", 403)
    try:
        photo, created = photos.confirm_upload(animal=animal, photo_id=ticket.photo_id, key=ticket.key,
                                               original_name=ticket.original_name, user=request.user)
    except photos.UploadRefused as exc:
        return _json_error(exc.message, exc.status)
    except Exception:
        log.exception("confirm failed")
        return _json_error("Armazenamento de fotos indisponível. Tente novamente em instantes.", 503)
    if created:
        audit.record(animal, AuditEntry.Action.PHOTO, request.user, field="foto",
                     new=f"Enviada: {photo.original_name}", request=request)
    item = {"photo": photo, "thumb_url": None, "large_url": None, "error": ""}
    html = render_to_string("registry/_photo_card.html", {"item": item, "animal": animal}, request=request)
    payload = photos.status_payload(photo)
    payload.update({"html": html, "status_url": reverse("photo_status", args=[photo.photo_id])})
    return JsonResponse(payload, status=201 if created else 200)


def _photo_gone(photo_id: str):
    """JSON for a photo that no longer exists: 410 with state "deleted" when it
    was deleted (by anyone), else 404 "not_found". photos.js shows each state."""
    if PhotoDeletion.objects.filter(photo_id=photo_id).exists():
        return JsonResponse({"photo_id": photo_id, "status": "deleted",
                             "error": "Esta foto foi excluída."}, status=410)
    return JsonResponse({"photo_id": photo_id, "status": "not_found",
                         "error": "Foto não encontrada."}, status=404)


@perm("view_photo")
@require_GET
@never_cache
def photo_status(request, photo_id: str):
    photo = Photo.objects.filter(photo_id=photo_id).first()
    if photo is None:  # deleted (maybe by someone else) while a page was polling it
        return _photo_gone(photo_id)
    try:
        photo = photos.reconcile(photo)
    except Exception:  # S3 unreachable (bounded timeouts, breaker) or an odd answer
        log.warning("manifest read failed for photo %s", photo.photo_id, exc_info=True)
        retry = int(settings.S3_BREAKER_SECONDS)
        response = JsonResponse({"photo_id": photo.photo_id, "status": "pending", "error": None,
                                 "thumb_url": None, "retry": True, "retry_after": retry}, status=503)
        response["Retry-After"] = str(retry)
        return response
    return JsonResponse(photos.status_payload(photo))


@perm("change_photo")
@require_POST
def photo_set_primary(request, photo_id: str):
    photo = get_object_or_404(Photo.objects.select_related("animal"), photo_id=photo_id)
    if photo.status != Photo.Status.OK:
        messages.error(request, "Só uma foto já processada pode ser a principal.")
    elif not photo.is_primary:
        with transaction.atomic():
            Photo.objects.filter(animal=photo.animal, is_primary=True).update(is_primary=False)
            Photo.objects.filter(pk=photo.pk).update(is_primary=True)
            audit.record(photo.animal, AuditEntry.Action.PHOTO, request.user, field="foto principal",
                         new=photo.original_name, request=request)
        messages.success(request, "Foto principal definida.")
    return redirect(reverse("animal_detail", args=[photo.animal_id]) + "#fotos")


@perm("delete_photo")
@require_POST
def photo_delete(request, photo_id: str):
    """Removes the record now; its S3 objects go through the deletion outbox
    (registry.outbox: recorded in this transaction, retried until S3 confirms),
    so an unreachable S3 never turns into a 500 or into objects left forever."""
    photo = Photo.objects.select_related("animal").filter(photo_id=photo_id).first()
    if photo is None:
        messages.info(request, "Esta foto já havia sido excluída.")
        gone = PhotoDeletion.objects.filter(photo_id=photo_id).first()
        target = reverse("animal_detail", args=[gone.animal_id]) + "#fotos" if gone and gone.animal_id else reverse(
            "animal_list")
        return redirect(target)
    animal = photo.animal
    with transaction.atomic():
        was_primary = photo.is_primary
        photo.delete()  # pre_delete: outbox row + audit entry (registry.outbox)
        if was_primary:
            photos.ensure_primary(animal.pk)  # the next processed photo, never a pending or failed one
    try:
        outbox.try_now(photo_id)
    except Exception:  # noqa: BLE001 - the outbox retries; the user's deletion is done
        log.warning("immediate S3 cleanup failed for photo %s; left to the outbox", photo_id, exc_info=True)
    messages.success(request, "Foto excluída.")
    return redirect(reverse("animal_detail", args=[animal.pk]) + "#fotos")
