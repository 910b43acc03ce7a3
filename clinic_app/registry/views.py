"""Pages and small JSON endpoints of the Sistema da Clínica."""

from __future__ import annotations

import csv
import logging
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core import signing
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import audit, duplicates, photos, printing, s3, search, throttle
from .forms import (
    AnimalForm,
    AnimalSearchForm,
    ThrottledAuthenticationForm,
    TutorForm,
    TutorSearchForm,
)
from .models import Animal, AuditEntry, Photo, Tutor
from .validators import format_cpf, format_phone, normalise_cpf

log = logging.getLogger(__name__)

ANIMAL_AUDITED = [f for f in AnimalForm.Meta.fields] + ["is_active"]
TUTOR_AUDITED = list(TutorForm.Meta.fields)
UPLOAD_SALT = "registry.photo-upload"


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
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        throttle.clear(form.get_user().get_username(), throttle.client_ip(self.request))
        return super().form_valid(form)


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
        "species_choices": Animal.Species.choices, "active_choices": AnimalSearchForm.ACTIVE_CHOICES,
        "per_page_choices": AnimalSearchForm.PER_PAGE_CHOICES,
        "query": urlencode(query), "export_query": urlencode({k: v for k, v in query.items() if k != "per_page"}),
        "result": result, "archived_query": urlencode({**query, "active": "0"}),
    })


def _csv_safe(value) -> str:
    """Neutralise spreadsheet formula injection."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


@perm("export_animal")
@require_GET
def animal_export(request):
    _form, params = _search_params(request)
    header = ["ID", "Nome", "Espécie", "Raça", "Sexo", "Castrado", "Data de nascimento", "Nascimento estimado",
              "Pelagem/marcas", "Microchip", "Peso (kg)", "Ativo", "Óbito", "Data do óbito", "Tutor",
              "CPF do tutor", "Telefone", "Outro telefone", "E-mail", "Cidade", "UF", "Cadastrado em"]
    species = dict(Animal.Species.choices)
    sexes = dict(Animal.Sex.choices)
    tz = timezone.get_current_timezone()

    def yes(b):
        return "Sim" if b else "Não"

    def rows():
        yield "\ufeff"  # BOM so spreadsheet software reads UTF-8
        writer = csv.writer(_Echo(), delimiter=";")
        yield writer.writerow(header)
        for a in search.export_animals(params["q"], params["species"], params["active"]):
            t = a.tutor
            yield writer.writerow([_csv_safe(x) for x in [
                a.pk, a.name, species.get(a.species, a.species), a.breed, sexes.get(a.sex, a.sex), yes(a.neutered),
                a.birth_date.strftime("%d/%m/%Y") if a.birth_date else "", yes(a.birth_date_estimated),
                a.coat, a.microchip or "", str(a.weight_kg).replace(".", ",") if a.weight_kg is not None else "",
                yes(a.is_active), yes(a.deceased), a.deceased_on.strftime("%d/%m/%Y") if a.deceased_on else "",
                t.name, format_cpf(t.cpf) if t.cpf else "", format_phone(t.phone), format_phone(t.phone_secondary),
                t.email, t.city, t.uf, a.created_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            ]])

    log.info("animal export by user id %s", request.user.pk)
    filename = f"animais-{timezone.localdate().strftime('%Y%m%d')}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _tutor_from_param(request):
    tutor_id = request.GET.get("tutor") or request.POST.get("tutor")
    if tutor_id and str(tutor_id).isdigit():
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
            with transaction.atomic():
                animal = form.save(commit=False)
                animal.created_by = animal.updated_by = request.user
                animal.save()
                audit.record(animal, AuditEntry.Action.CREATE, request.user, new=animal.name)
            messages.success(request, f"Animal “{animal.name}” cadastrado.")
            if request.POST.get("save_another"):  # next animal of the same tutor, blank form
                return redirect(reverse("animal_create") + f"?tutor={animal.tutor_id}")
            return redirect("animal_detail", pk=animal.pk)
    else:
        form = AnimalForm(initial={"tutor": tutor.pk})
    return render(request, "registry/animal_form.html", {"form": form, "tutor": tutor, "animal": None})


@perm("change_animal")
def animal_edit(request, pk: int):
    animal = get_object_or_404(Animal.objects.select_related("tutor"), pk=pk)
    new_tutor = _tutor_from_param(request) if request.method == "GET" else None
    if request.GET.get("change_tutor") and new_tutor is None:
        return _tutor_picker(request, {"title": f"Trocar o tutor de {animal.name}",
                                       "next_url": reverse("animal_edit", args=[animal.pk]), "animal": animal})
    if request.method == "POST":
        before = audit.snapshot(animal, ANIMAL_AUDITED)
        form = AnimalForm(request.POST, instance=animal)
        if form.is_valid():
            with transaction.atomic():
                animal = form.save(commit=False)
                animal.updated_by = request.user
                animal.save()
                n = audit.record_changes(animal, before, request.user)
            messages.success(request, "Alterações salvas." if n else "Nenhuma alteração.")
            return redirect("animal_detail", pk=animal.pk)
        tutor = form.cleaned_data.get("tutor") or animal.tutor
    else:
        initial = {"tutor": new_tutor.pk} if new_tutor else {}
        form = AnimalForm(instance=animal, initial=initial)
        tutor = new_tutor or animal.tutor
    return render(request, "registry/animal_form.html", {"form": form, "tutor": tutor, "animal": animal})


@perm("view_animal")
@require_GET
def animal_detail(request, pk: int):
    animal = get_object_or_404(Animal.objects.select_related("tutor", "created_by", "updated_by"), pk=pk)
    gallery = [{"photo": p, "thumb_url": photos.rendition_url(p, "thumb"),
                "large_url": photos.rendition_url(p, "large"),
                "error": s3.error_message(p.error_code) if p.status == Photo.Status.FAILED else ""}
               for p in animal.photos.select_related("uploaded_by")]
    return render(request, "registry/animal_detail.html", {
        "animal": animal, "gallery": gallery, "audit": audit.entries_for(animal),
        "max_bytes": settings.PHOTO_MAX_BYTES,
    })


@perm("view_animal")
@require_GET
def animal_card(request, pk: int):
    """Printable patient card / label: photo, name, species, tutor, microchip, QR code to the record."""
    animal = get_object_or_404(Animal.objects.select_related("tutor"), pk=pk)
    primary = animal.photos.filter(is_primary=True).first()
    url = request.build_absolute_uri(reverse("animal_detail", args=[animal.pk]))
    return render(request, "registry/animal_card.html", {
        "animal": animal, "thumb_url": photos.rendition_url(primary, "thumb") if primary else None,
        "qr": printing.qr_svg(url, f"QR code: ficha de {animal.name}"), "record_url": url,
    })


@perm("archive_animal")
def animal_archive(request, pk: int):
    animal = get_object_or_404(Animal.objects.select_related("tutor"), pk=pk)
    if request.method == "POST":
        before = audit.snapshot(animal, ["is_active"])
        with transaction.atomic():
            animal.is_active = not animal.is_active
            animal.updated_by = request.user
            animal.save(update_fields=["is_active", "updated_by", "updated_at"])
            audit.record_changes(animal, before, request.user, action=AuditEntry.Action.ARCHIVE)
        messages.success(request, f"“{animal.name}” " + ("reativado." if animal.is_active else "arquivado."))
        return redirect("animal_detail", pk=animal.pk)
    return render(request, "registry/animal_archive.html", {"animal": animal})


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
        dups = duplicates.find(form.cleaned_data) if form.is_valid() else []
        if form.is_valid() and (not dups or form.cleaned_data["not_duplicate"]):
            with transaction.atomic():
                tutor = form.save(commit=False)
                tutor.created_by = tutor.updated_by = request.user
                tutor.save()
                audit.record(tutor, AuditEntry.Action.CREATE, request.user, new=tutor.name)
            messages.success(request, f"Tutor “{tutor.name}” cadastrado.")
            if then_animal:  # came from "+ Novo animal": back to it with this tutor chosen
                return redirect(reverse("animal_create") + f"?tutor={tutor.pk}")
            return redirect("tutor_detail", pk=tutor.pk)
        cpf_clash = _cpf_clash(form)
    else:
        form, dups, cpf_clash = TutorForm(), [], None
    return render(request, "registry/tutor_form.html", {"form": form, "tutor": None, "duplicates": dups,
                                                        "cpf_clash": cpf_clash, "then_animal": then_animal})


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
    tutor = get_object_or_404(Tutor, pk=pk)
    if request.method == "POST":
        before = audit.snapshot(tutor, TUTOR_AUDITED)
        form = TutorForm(request.POST, instance=tutor)
        if form.is_valid():
            with transaction.atomic():
                tutor = form.save(commit=False)
                tutor.updated_by = request.user
                tutor.save()
                n = audit.record_changes(tutor, before, request.user)
            messages.success(request, "Alterações salvas." if n else "Nenhuma alteração.")
            return redirect("tutor_detail", pk=tutor.pk)
    else:
        form = TutorForm(instance=tutor)
    return render(request, "registry/tutor_form.html", {"form": form, "tutor": tutor})


@perm("view_tutor")
@require_GET
def tutor_detail(request, pk: int):
    tutor = get_object_or_404(Tutor.objects.select_related("created_by", "updated_by"), pk=pk)
    animals = search.with_list_relations(tutor.animals.order_by("-is_active", "search_name", "id"))
    rows = _animal_rows(animals)
    return render(request, "registry/tutor_detail.html", {"tutor": tutor, "rows": rows,
                                                          "audit": audit.entries_for(tutor)})


# --- photos --------------------------------------------------------------------

def _json_error(message: str, status: int = 400):
    return JsonResponse({"error": message}, status=status)


@perm("add_photo")
@require_POST
def photo_presign(request, pk: int):
    animal = get_object_or_404(Animal, pk=pk)
    filename = (request.POST.get("filename") or "").strip()
    content_type = (request.POST.get("content_type") or "").strip().lower()
    try:
        size = int(request.POST.get("size") or 0)
    except ValueError:
        size = 0
    if not content_type.startswith("image/") or len(content_type) > 100:
        return _json_error("Escolha um arquivo de imagem (JPEG, PNG, WebP ou GIF).")
    if size < 1:
        return _json_error("O arquivo está vazio.")
    if size > settings.PHOTO_MAX_BYTES:
        return _json_error("A foto deve ter no máximo 25 MB.")
    photo_id = uuid.uuid4().hex
    key = s3.upload_key(photo_id, filename)
    try:
        post = s3.presigned_post(key, content_type)
    except Exception:
        log.exception("presign failed")
        return _json_error("Armazenamento de fotos indisponível. Tente novamente em instantes.", 503)
    token = signing.dumps({"p": photo_id, "k": key, "a": animal.pk, "u": request.user.pk,
                           "n": filename[:255] or "foto"}, salt=UPLOAD_SALT)
    return JsonResponse({"photo_id": photo_id, "key": key, "url": post["url"], "fields": post["fields"],
                         "token": token, "expires_in": settings.PHOTO_UPLOAD_EXPIRES})


@perm("add_photo")
@require_POST
def photo_confirm(request, pk: int):
    animal = get_object_or_404(Animal, pk=pk)
    try:
        data = signing.loads(request.POST.get("token") or "", salt=UPLOAD_SALT,
                             max_age=settings.PHOTO_UPLOAD_EXPIRES + 600)
    except signing.BadSignature:
        return _json_error("Envio expirado ou inválido. Tente enviar a foto de novo.")
    if data.get("a") != animal.pk or data.get("u") != request.user.pk:
        return _json_error("Envio inválido para este animal.", 403)
    try:
        photo, created = photos.confirm_upload(animal=animal, photo_id=data["p"], key=data["k"],
                                               original_name=data["n"], user=request.user)
    except photos.UploadRefused as exc:
        return _json_error(exc.message, exc.status)
    except Exception:
        log.exception("confirm failed")
        return _json_error("Armazenamento de fotos indisponível. Tente novamente em instantes.", 503)
    if created:
        audit.record(animal, AuditEntry.Action.PHOTO, request.user, field="foto",
                     new=f"Enviada: {photo.original_name}")
    item = {"photo": photo, "thumb_url": None, "large_url": None, "error": ""}
    html = render_to_string("registry/_photo_card.html", {"item": item, "animal": animal}, request=request)
    payload = photos.status_payload(photo)
    payload.update({"html": html, "status_url": reverse("photo_status", args=[photo.photo_id])})
    return JsonResponse(payload, status=201 if created else 200)


@perm("view_photo")
@require_GET
@never_cache
def photo_status(request, photo_id: str):
    photo = get_object_or_404(Photo, photo_id=photo_id)
    try:
        photo = photos.reconcile(photo)
    except Exception:
        log.warning("manifest read failed for photo %s", photo.photo_id, exc_info=True)
        return JsonResponse({"photo_id": photo.photo_id, "status": "pending", "error": None,
                             "thumb_url": None, "retry": True}, status=503)
    return JsonResponse(photos.status_payload(photo))


@perm("change_photo")
@require_POST
def photo_set_primary(request, photo_id: str):
    photo = get_object_or_404(Photo.objects.select_related("animal"), photo_id=photo_id)
    if not photo.is_primary:
        with transaction.atomic():
            Photo.objects.filter(animal=photo.animal, is_primary=True).update(is_primary=False)
            Photo.objects.filter(pk=photo.pk).update(is_primary=True)
            audit.record(photo.animal, AuditEntry.Action.PHOTO, request.user, field="foto principal",
                         new=photo.original_name)
        messages.success(request, "Foto principal definida.")
    return redirect(reverse("animal_detail", args=[photo.animal_id]) + "#fotos")


@perm("delete_photo")
@require_POST
def photo_delete(request, photo_id: str):
    photo = get_object_or_404(Photo.objects.select_related("animal"), photo_id=photo_id)
    animal = photo.animal
    keys = [photo.key] + [k for k in (photo.rendition_key(n) for n in photos.RENDITIONS) if k]
    with transaction.atomic():
        was_primary = photo.is_primary
        photo.delete()
        if was_primary:
            nxt = animal.photos.order_by("uploaded_at", "id").first()
            if nxt:
                Photo.objects.filter(pk=nxt.pk).update(is_primary=True)
        audit.record(animal, AuditEntry.Action.PHOTO, request.user, field="foto",
                     old=photo.original_name, new="Excluída")
    for key in keys + [s3.manifest_key(photo.photo_id)]:
        s3.delete(key)
    messages.success(request, "Foto excluída.")
    return redirect(reverse("animal_detail", args=[animal.pk]) + "#fotos")
