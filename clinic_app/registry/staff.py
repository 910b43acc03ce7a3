"""Staff accounts, managed by Administração in the app (registry.views_staff).

The rules, in one place (views and tests use them):

* one role per person: exactly one of the groups of registry.roles;
* nobody touches an account with more power than their own: a superuser only
  by a superuser, and never an account holding a permission the actor lacks
  (``registry.admin.may_manage``, the same rule the Django admin applies);
* nobody deactivates themselves, changes their own role or resets their own
  password here (their own password: "Trocar minha senha");
* the last active Administração cannot be deactivated or given another role;
* accounts are never deleted (the audit trail refers to them): deactivated;
* every change is a STAFF entry on object_type "user" (never a password).
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction

from . import audit, roles
from .models import AuditEntry, StaffProfile

ROLES = (roles.RECEPTION, roles.VET, roles.ADMIN)

# no look-alike characters (0/O, 1/l/I): read out loud or copied from the screen once
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Refused(Exception):
    """A change the rules above forbid; the message is for the person (pt-BR)."""


def role_of(user) -> str:
    names = [g for g in user.groups.values_list("name", flat=True) if g in ROLES]
    return names[0] if len(names) == 1 else ""


def generate_password(length: int = 14) -> str:
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isupper() for c in password):
            return password


def check_may_manage(actor, target) -> None:
    from .admin import may_manage

    if target.is_superuser and not actor.is_superuser:
        raise Refused("Esta conta é de um superusuário: só outro superusuário pode alterá-la.")
    if not may_manage(actor, target):
        raise Refused("Esta conta tem permissões que você não tem: você não pode alterá-la.")


def _other_active_admins(target) -> bool:
    return (User.objects.filter(is_active=True, groups__name=roles.ADMIN).exclude(pk=target.pk).exists())


def _is_admin(user) -> bool:
    return user.groups.filter(name=roles.ADMIN).exists()


# the flag, read once at sign-in and kept in the session (no query per request);
# a reset ends the person's sessions, so the next sign-in reads it again
SESSION_KEY = "clinic_must_change_password"


def must_change_password(user) -> bool:
    return StaffProfile.objects.filter(user=user, must_change_password=True).exists()


def remember_flag_at_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = must_change_password(user)


def _flag(user, value: bool) -> None:
    StaffProfile.objects.update_or_create(user=user, defaults={"must_change_password": value})


def check_grantable(actor, role: str) -> None:
    """Nobody hands out a role with a permission they do not hold."""
    from .admin import _perm_names, _power

    mine = _power(actor)
    group = Group.objects.filter(name=role).first()
    if group is None:
        raise Refused("Escolha um papel: Recepção, Veterinário ou Administração.")
    if mine is not None and not _perm_names(group.permissions.select_related("content_type")) <= mine:
        raise Refused("Este papel tem permissões que você não tem: você não pode atribuí-lo.")


def _set_role(user, role: str) -> None:
    if role not in ROLES:
        raise Refused("Escolha um papel: Recepção, Veterinário ou Administração.")
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))


def _entry(target, actor, request, field, old="", new="") -> None:
    audit.event("user", target.pk, AuditEntry.Action.STAFF, actor, field=field, old=old, new=new, request=request)


@transaction.atomic
def create(actor, request, *, username, first_name, last_name, email, role, password) -> User:
    if role not in ROLES:
        raise Refused("Escolha um papel: Recepção, Veterinário ou Administração.")
    check_grantable(actor, role)
    user = User.objects.create_user(username=username, password=password, first_name=first_name,
                                    last_name=last_name, email=email)
    _set_role(user, role)
    _flag(user, True)  # the password was chosen by someone else: the person picks their own
    _entry(user, actor, request, "conta", new=f"criada: {username} ({role})")
    return user


@transaction.atomic
def update(actor, request, target, *, first_name, last_name, email, role) -> list[str]:
    """Name, e-mail and role; returns the fields changed."""
    check_may_manage(actor, target)
    target = User.objects.select_for_update().get(pk=target.pk)
    changed = []
    for field, label, value in (("first_name", "nome", first_name), ("last_name", "sobrenome", last_name),
                                ("email", "e-mail", email)):
        old = getattr(target, field)
        if old != value:
            setattr(target, field, value)
            _entry(target, actor, request, label, old=old, new=value)
            changed.append(label)
    if changed:
        target.save(update_fields=["first_name", "last_name", "email"])
    old_role = role_of(target)
    if role != old_role:
        if target.pk == actor.pk:
            raise Refused("Você não pode mudar o seu próprio papel: peça a outra pessoa da Administração.")
        if old_role == roles.ADMIN and target.is_active and not _other_active_admins(target):
            raise Refused("Esta é a última pessoa ativa da Administração: dê esse papel a outra pessoa antes.")
        check_grantable(actor, role)
        _set_role(target, role)
        _entry(target, actor, request, "papel", old=old_role, new=role)
        changed.append("papel")
    return changed


@transaction.atomic
def set_active(actor, request, target, active: bool) -> bool:
    """Deactivate (False) or reactivate (True): a state, not a toggle. Returns
    False when the account already was in that state."""
    check_may_manage(actor, target)
    target = User.objects.select_for_update().get(pk=target.pk)
    if target.is_active == active:
        return False
    if not active:
        if target.pk == actor.pk:
            raise Refused("Você não pode desativar a sua própria conta.")
        if _is_admin(target) and not _other_active_admins(target):
            raise Refused("Esta é a última pessoa ativa da Administração: ela não pode ser desativada.")
    target.is_active = active
    target.save(update_fields=["is_active"])
    _entry(target, actor, request, "situação", old="Ativa" if not active else "Desativada",
           new="Ativa" if active else "Desativada")
    if not active:
        _end_sessions(target)
    return True


def _end_sessions(user) -> None:
    """A deactivated account's open sessions end now (Django would refuse them
    at the next request anyway: ModelBackend rejects inactive users)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


@transaction.atomic
def reset_password(actor, request, target, password: str) -> None:
    check_may_manage(actor, target)
    if target.pk == actor.pk:
        raise Refused("Para a sua própria senha, use “Trocar minha senha”.")
    target.set_password(password)
    target.save(update_fields=["password"])
    _flag(target, True)
    _end_sessions(target)
    _entry(target, actor, request, "senha", new="redefinida pela Administração (troca obrigatória no próximo acesso)")


@transaction.atomic
def password_changed_by_owner(user, request) -> None:
    _flag(user, False)
    request.session[SESSION_KEY] = False
    _entry(user, user, request, "senha", new="trocada pela própria pessoa")


def locked_usernames() -> set[str]:
    """Usernames locked out of signing in now (django-axes: failures of one
    username from one address within the cool-off, registry.auth)."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.db.models import Sum
    from django.utils import timezone

    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - get_cool_off(None))
    rows = recent.values("username", "ip_address").annotate(n=Sum("failures_since_start"))
    return {r["username"] for r in rows if r["n"] >= settings.AXES_FAILURE_LIMIT}


@transaction.atomic
def unlock(actor, request, target) -> int:
    """Forget the failed sign-ins of this person's username (every address):
    a locked-out colleague can sign in again at once. An address locked by
    failures across many usernames still waits its cool-off (or a superuser
    unlocks it in the admin). Returns the number of attempt rows removed."""
    from axes.models import AccessAttempt

    check_may_manage(actor, target)
    removed, _ = AccessAttempt.objects.filter(username=target.get_username().strip().lower()).delete()
    _entry(target, actor, request, "acesso", new="desbloqueado pela Administração")
    return removed
