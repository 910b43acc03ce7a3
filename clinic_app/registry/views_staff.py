"""Administração's pages for the staff accounts (pt-BR), and everyone's own
password change. The rules live in registry.staff; these views gate by
permission (auth.view_user / add_user / change_user: Administração) and turn
a refused change into a message next to the form."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_POST

from . import staff

ROLE_CHOICES = [(r, r) for r in staff.ROLES]
MODE_CHOICES = (("gerar", "Gerar uma senha provisória (mostrada uma única vez)"),
                ("digitar", "Digitar uma senha provisória"))


def gate(codename: str):
    return permission_required(f"auth.{codename}", raise_exception=True)


class PasswordChoiceForm(forms.Form):
    password_mode = forms.ChoiceField(label="Senha", choices=MODE_CHOICES, initial="gerar", widget=forms.RadioSelect)
    password1 = forms.CharField(label="Senha provisória", required=False, strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Repita a senha provisória", required=False, strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def user_for_validation(self) -> User:
        return User()

    def clean(self):
        data = super().clean()
        if data.get("password_mode") != "digitar":
            data["password"] = staff.generate_password()
            data["generated"] = True
            return data
        p1, p2 = data.get("password1") or "", data.get("password2") or ""
        if not p1:
            self.add_error("password1", "Digite a senha provisória.")
        elif p1 != p2:
            self.add_error("password2", "As duas senhas não são iguais.")
        else:
            try:
                password_validation.validate_password(p1, self.user_for_validation())
            except ValidationError as exc:
                self.add_error("password1", exc)
        data["password"], data["generated"] = p1, False
        return data


class StaffFields(forms.Form):
    first_name = forms.CharField(label="Nome", max_length=150)
    last_name = forms.CharField(label="Sobrenome", max_length=150, required=False)
    email = forms.EmailField(label="E-mail", required=False)
    role = forms.ChoiceField(label="Papel", choices=ROLE_CHOICES, widget=forms.RadioSelect,
                             help_text="Cada pessoa tem exatamente um papel.")


class StaffCreateForm(StaffFields, PasswordChoiceForm):
    username = forms.CharField(label="Usuário (para entrar no sistema)", max_length=150,
                               validators=[UnicodeUsernameValidator(
                                   message="Use só letras, números e os caracteres @ . + - _")],
                               help_text="Sem espaços; por exemplo, maria.souza.")

    field_order = ["username", "first_name", "last_name", "email", "role", "password_mode", "password1", "password2"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("Já existe uma conta com este usuário.")
        return username

    def user_for_validation(self) -> User:
        d = self.cleaned_data
        return User(username=d.get("username", ""), first_name=d.get("first_name", ""),
                    last_name=d.get("last_name", ""), email=d.get("email", ""))


class StaffEditForm(StaffFields):
    pass


class ResetPasswordForm(PasswordChoiceForm):
    def __init__(self, *args, target: User, **kwargs):
        self.target = target
        super().__init__(*args, **kwargs)

    def user_for_validation(self) -> User:
        return self.target


def _refused(form, exc: staff.Refused):
    form.add_error(None, str(exc))


# --- pages -------------------------------------------------------------------------

@gate("view_user")
@require_GET
def staff_list(request):
    people = list(User.objects.order_by("-is_active", "first_name", "username").prefetch_related("groups"))
    locked = staff.locked_usernames()
    for person in people:
        person.role = staff.role_of(person) or ("Superusuário" if person.is_superuser else "—")
        person.locked = person.get_username().strip().lower() in locked
    return render(request, "registry/admin/staff_list.html", {"people": people})


@gate("add_user")
def staff_create(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            person = staff.create(request.user, request, username=d["username"], first_name=d["first_name"],
                                  last_name=d["last_name"], email=d["email"], role=d["role"],
                                  password=d["password"])
        except staff.Refused as exc:
            _refused(form, exc)
        else:
            return _password_shown(request, person, d, created=True)
    return render(request, "registry/admin/staff_form.html", {"form": form, "person": None})


def _password_shown(request, person, data, created: bool):
    """The temporary password, shown once (this response is no-store and the
    password is kept nowhere but in the account's hash)."""
    if not data["generated"]:
        messages.success(request, (f"Conta de {person.get_full_name() or person.username} criada."
                                   if created else "Senha redefinida.")
                         + " No primeiro acesso, a pessoa terá de escolher a própria senha.")
        return redirect("staff_list")
    return render(request, "registry/admin/staff_password_shown.html",
                  {"person": person, "password": data["password"], "created": created})


def _target(request, pk):
    target = get_object_or_404(User, pk=pk)
    try:
        staff.check_may_manage(request.user, target)
    except staff.Refused as exc:
        return target, str(exc)
    return target, None


@gate("change_user")
def staff_edit(request, pk: int):
    target, refusal = _target(request, pk)
    if refusal:
        return render(request, "403.html", {"message": refusal}, status=403)
    initial = {"first_name": target.first_name, "last_name": target.last_name, "email": target.email,
               "role": staff.role_of(target)}
    form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            changed = staff.update(request.user, request, target, first_name=d["first_name"],
                                   last_name=d["last_name"], email=d["email"], role=d["role"])
        except staff.Refused as exc:
            _refused(form, exc)
        else:
            messages.success(request, "Alterações salvas." if changed else "Nenhuma alteração.")
            return redirect("staff_list")
    return render(request, "registry/admin/staff_form.html", {"form": form, "person": target})


def _set_active(request, pk: int, active: bool):
    target, refusal = _target(request, pk)
    if refusal:
        return render(request, "403.html", {"message": refusal}, status=403)
    error = None
    if request.method == "POST":
        try:
            changed = staff.set_active(request.user, request, target, active)
        except staff.Refused as exc:
            error = str(exc)
        else:
            name = target.get_full_name() or target.username
            if changed:
                messages.success(request, f"Conta de {name} " + ("reativada." if active else "desativada."))
            else:
                messages.info(request, f"A conta de {name} já estava " + ("ativa." if active else "desativada."))
            return redirect("staff_list")
    return render(request, "registry/admin/staff_active.html",
                  {"person": target, "reactivate": active, "error": error}, status=400 if error else 200)


@gate("change_user")
def staff_deactivate(request, pk: int):
    return _set_active(request, pk, False)


@gate("change_user")
def staff_reactivate(request, pk: int):
    return _set_active(request, pk, True)


@gate("change_user")
def staff_password(request, pk: int):
    target, refusal = _target(request, pk)
    if refusal:
        return render(request, "403.html", {"message": refusal}, status=403)
    form = ResetPasswordForm(request.POST or None, target=target)
    if request.method == "POST" and form.is_valid():
        try:
            staff.reset_password(request.user, request, target, form.cleaned_data["password"])
        except staff.Refused as exc:
            _refused(form, exc)
        else:
            return _password_shown(request, target, form.cleaned_data, created=False)
    return render(request, "registry/admin/staff_reset_password.html", {"form": form, "person": target})


@gate("change_user")
@require_POST
def staff_unlock(request, pk: int):
    target, refusal = _target(request, pk)
    if refusal:
        return render(request, "403.html", {"message": refusal}, status=403)
    staff.unlock(request.user, request, target)
    messages.success(request, f"Acesso de {target.get_full_name() or target.username} desbloqueado: "
                              "a pessoa já pode entrar de novo.")
    return redirect("staff_list")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Anyone's own password (and where a reset sends the person until done)."""

    template_name = "registry/admin/password_change.html"
    success_url = reverse_lazy("animal_list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["forced"] = staff.must_change_password(self.request.user)
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        staff.password_changed_by_owner(self.request.user, self.request)
        messages.success(self.request, "Senha trocada.")
        return response

