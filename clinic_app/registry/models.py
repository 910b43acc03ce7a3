"""Tutors (owners), animals (patients), their photos and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import breeds, display
from . import validators as v

UF_CHOICES = [
    (uf, uf)
    for uf in (
        ["AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"]
    )
]


class TimeStamped(models.Model):
    # Optimistic locking: every save through the app bumps it; an edit form
    # carries the version it was opened at and a stale one is refused.
    version = models.PositiveIntegerField("versão", default=1, db_default=1, editable=False)
    created_at = models.DateTimeField("criado em", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("atualizado em", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="criado por", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="atualizado por", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", editable=False,
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            self.version = (self.version or 0) + 1  # every save through the ORM is a new version
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = set(kwargs["update_fields"]) | {"version"}
        super().save(*args, **kwargs)


class Species(models.Model):
    """A species the clinic treats, managed by Administração (registry.views_species).

    The primary key is a short stable code ("dog", "cat", ... for the defaults,
    a slug of the name for the ones added later): renaming a species changes
    only its name. An inactive species is not offered for new animals; the
    animals that have it keep it."""

    code = models.SlugField("código", max_length=30, primary_key=True)
    name = models.CharField("nome", max_length=60, unique=True,
                            error_messages={"unique": "Já existe uma espécie com este nome."})
    active = models.BooleanField("ativa", default=True)
    order = models.PositiveSmallIntegerField("ordem", default=100)

    class Meta:
        verbose_name = "espécie"
        verbose_name_plural = "espécies"
        ordering = ("order", "name")

    def __str__(self) -> str:
        return self.name


class Breed(models.Model):
    """A breed suggested for a species (the animal's breed stays free text).

    Each species has exactly one SRD row (``is_srd``); every way of typing it
    ("srd", "S.R.D.", "sem raça definida", "vira-lata") is saved as ``SRD``."""

    SRD = breeds.SRD

    species = models.ForeignKey(Species, verbose_name="espécie", on_delete=models.CASCADE, related_name="breeds")
    name = models.CharField("nome", max_length=100)
    key = models.CharField(max_length=100, editable=False)  # breeds.breed_key(name): the uniqueness
    is_srd = models.BooleanField("SRD", default=False, editable=False)

    class Meta:
        verbose_name = "raça"
        verbose_name_plural = "raças"
        ordering = ("species", "-is_srd", "name")
        constraints = (
            models.UniqueConstraint(fields=["species", "key"], name="breed_unique_per_species"),
            models.UniqueConstraint(fields=["species"], condition=Q(is_srd=True), name="one_srd_per_species"),
        )

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = breeds.normalise_breed(self.name)
        self.is_srd = self.name == breeds.SRD
        self.key = breeds.breed_key(self.name)
        super().save(*args, **kwargs)


class Tutor(TimeStamped):
    name = models.CharField("nome", max_length=150)
    search_name = models.CharField(max_length=150, editable=False, db_index=True, default="")
    cpf = models.CharField(
        "CPF", max_length=11, null=True, blank=True, unique=True,
        validators=[v.validate_cpf, RegexValidator(r"^[0-9]{11}$", "CPF deve ter 11 dígitos.")],
        error_messages={"unique": "Já existe um tutor com este CPF."},
    )
    phone = models.CharField("telefone", max_length=11, db_index=True)
    phone_secondary = models.CharField("outro telefone", max_length=11, blank=True, db_index=True)
    # "<phone> <phone_secondary>": one indexed column for partial phone search
    search_phones = models.CharField(max_length=23, editable=False, db_index=True, default="")
    email = models.EmailField("e-mail", blank=True)
    cep = models.CharField("CEP", max_length=8, blank=True)
    street = models.CharField("logradouro", max_length=200, blank=True)
    number = models.CharField("número", max_length=20, blank=True)
    complement = models.CharField("complemento", max_length=100, blank=True)
    neighbourhood = models.CharField("bairro", max_length=100, blank=True)
    city = models.CharField("cidade", max_length=100, blank=True)
    uf = models.CharField("UF", max_length=2, choices=UF_CHOICES, blank=True)
    notes = models.TextField("observações", blank=True)

    class Meta:
        verbose_name = "tutor"
        verbose_name_plural = "tutores"
        ordering = ("search_name", "id")
        permissions = (("merge_tutor", "Pode mesclar dois cadastros de tutor"),)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = v.fold(self.name)
        # identifiers are stored as ASCII digits whatever path saved them
        self.cpf = v.normalise_cpf(self.cpf)
        self.phone = v.normalise_phone(self.phone) if self.phone else ""
        self.phone_secondary = v.normalise_phone(self.phone_secondary)
        self.cep = v.normalise_cep(self.cep)
        self.search_phones = f"{self.phone} {self.phone_secondary}".strip()
        super().save(*args, **kwargs)

    # How each identifier is shown: registry.display decides.
    @property
    def cpf_display(self) -> str:
        return display.cpf(self.cpf)

    @property
    def phone_display(self) -> str:
        return display.phone(self.phone)

    @property
    def phone_secondary_display(self) -> str:
        return display.phone(self.phone_secondary)

    @property
    def cep_display(self) -> str:
        return display.cep(self.cep)

    @property
    def address_display(self) -> str:
        line1 = ", ".join(p for p in (self.street, self.number, self.complement) if p)
        city = " - ".join(p for p in (self.city, self.uf) if p)
        parts = [p for p in (line1, self.neighbourhood, city) if p]
        if self.cep:
            parts.append(f"CEP {self.cep_display}")
        return " · ".join(parts)


class Animal(TimeStamped):
    class Sex(models.TextChoices):
        MALE = "male", "Macho"
        FEMALE = "female", "Fêmea"
        UNKNOWN = "unknown", "Desconhecido"

    name = models.CharField("nome", max_length=100)
    search_name = models.CharField(max_length=100, editable=False, default="")
    # The column keeps its name (and its codes: "dog", "cat", ...) from before
    # species became a table (migration 0007): the list's covering index and
    # the search filters read it as they did.
    species = models.ForeignKey("Species", verbose_name="espécie", on_delete=models.PROTECT,
                                db_column="species", related_name="animals")
    breed = models.CharField("raça", max_length=100, blank=True)
    sex = models.CharField("sexo", max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    neutered = models.BooleanField("castrado(a)", default=False)
    birth_date = models.DateField("data de nascimento", null=True, blank=True)
    birth_date_estimated = models.BooleanField("data aproximada", default=False)
    coat = models.CharField("pelagem / marcas", max_length=200, blank=True)
    microchip = models.CharField(
        "microchip", max_length=15, null=True, blank=True, unique=True,
        validators=[v.validate_microchip],
        error_messages={"unique": "Já existe um animal com este microchip."},
    )
    weight_kg = models.DecimalField(
        "peso (kg)", max_digits=7, decimal_places=3, null=True, blank=True,
        validators=[
            MinValueValidator(0.001, "O peso deve ser maior que zero."),
            MaxValueValidator(2000, "Peso acima de 2.000 kg: confira o valor."),
        ],
    )
    tutor = models.ForeignKey(Tutor, verbose_name="tutor", on_delete=models.PROTECT, related_name="animals")
    is_active = models.BooleanField("ativo", default=True)
    deceased = models.BooleanField("óbito", default=False)
    deceased_on = models.DateField("data do óbito", null=True, blank=True)
    notes = models.TextField("observações", blank=True)

    class Meta:
        verbose_name = "animal"
        verbose_name_plural = "animais"
        ordering = ("search_name", "id")
        # One covering index for the list and its search/filters: SQLite walks it
        # in (search_name, id) order without touching the wide table rows.
        indexes = (
            models.Index(fields=["search_name", "id", "is_active", "tutor", "species"], name="animal_list_cov"),
        )
        permissions = (
            ("archive_animal", "Pode arquivar/reativar animais"),
            ("export_animal", "Pode exportar a lista de animais (CSV)"),
            ("merge_animal", "Pode mesclar dois cadastros de animal"),
        )

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = v.fold(self.name)
        self.microchip = v.normalise_microchip(self.microchip)
        super().save(*args, **kwargs)

    # Display values (registry.display holds the rules).
    @property
    def sex_label(self) -> str:
        return self.get_sex_display()

    @property
    def species_label(self) -> str:
        """The species as shown everywhere (pages, CSV, audit): its name ("Cão", "Gato", ...)."""
        return self.species.name if self.species_id else ""

    @property
    def age_display(self) -> str:
        end = self.deceased_on if self.deceased and self.deceased_on else timezone.localdate()
        return display.age(self.birth_date, end, estimated=self.birth_date_estimated)

    @property
    def neutered_display(self) -> str:
        """Agrees with the animal's sex: castrada / castrado / castrado(a)."""
        return display.neutered(self.sex)

    @property
    def weight_display(self) -> str:
        """4,2 kg; 0,35 kg; 1.200 kg."""
        return display.weight(self.weight_kg)

    @staticmethod
    def estimated_birth_date(years: int, months: int, today: date | None = None) -> date:
        today = today or timezone.localdate()
        total = today.year * 12 + (today.month - 1) - (years * 12 + months)
        y, m = divmod(total, 12)
        return date(y, m + 1, min(today.day, 28))


def _new_photo_id() -> str:
    return uuid.uuid4().hex


class Photo(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Processando"
        OK = "ok", "Pronta"
        FAILED = "failed", "Falhou"

    photo_id = models.CharField("ID da foto", max_length=32, unique=True, default=_new_photo_id, editable=False)
    animal = models.ForeignKey(Animal, verbose_name="animal", on_delete=models.CASCADE, related_name="photos")
    key = models.CharField("objeto original (S3)", max_length=300)
    original_name = models.CharField("nome do arquivo", max_length=255)
    content_type = models.CharField("tipo", max_length=100)
    size = models.PositiveBigIntegerField("tamanho (bytes)")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="enviada por", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    uploaded_at = models.DateTimeField("enviada em", default=timezone.now)
    status = models.CharField("situação", max_length=10, choices=Status.choices, default=Status.PENDING)
    is_primary = models.BooleanField("principal", default=False)
    renditions = models.JSONField("versões", default=dict, blank=True)
    error_code = models.CharField("código do erro", max_length=50, blank=True)
    error_message = models.CharField("erro", max_length=500, blank=True)
    manifest = models.JSONField("manifesto", null=True, blank=True)
    processed_at = models.DateTimeField("processada em", null=True, blank=True)

    class Meta:
        verbose_name = "foto"
        verbose_name_plural = "fotos"
        ordering = ("-is_primary", "uploaded_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["animal"], condition=Q(is_primary=True), name="one_primary_photo_per_animal"
            ),
        )
        indexes = (models.Index(fields=["animal", "is_primary"], name="photo_animal_primary"),)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.photo_id})"

    def rendition_key(self, name: str) -> str | None:
        info = (self.renditions or {}).get(name) or {}
        return info.get("key") or None


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Cadastro"
        UPDATE = "update", "Alteração"
        ARCHIVE = "archive", "Arquivamento"
        DELETE = "delete", "Exclusão"
        PHOTO = "photo", "Foto"
        SIGN_IN = "login", "Acesso"
        SIGN_IN_FAILED = "login_fail", "Acesso recusado"
        SIGN_OUT = "logout", "Saída"
        VIEW = "view", "Consulta"
        EXPORT = "export", "Exportação"
        MERGE = "merge", "Mesclagem"
        CONSENT = "consent", "Consentimento"
        DATA_REQUEST = "dsr", "Pedido do titular"
        ERASURE = "erasure", "Anonimização"
        STAFF = "staff", "Equipe"

    object_type = models.CharField("tipo", max_length=20)  # "animal" | "tutor" | "user" | "export"
    object_id = models.PositiveBigIntegerField("ID")
    action = models.CharField("ação", max_length=20, choices=Action.choices)
    field = models.CharField("campo", max_length=100, blank=True)
    old_value = models.TextField("valor anterior", blank=True)
    new_value = models.TextField("novo valor", blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="usuário", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    username = models.CharField("usuário (nome)", max_length=150, blank=True)
    timestamp = models.DateTimeField("quando", default=timezone.now)
    # where the request came from (the viewer address nginx passes on)
    ip_address = models.GenericIPAddressField("endereço", null=True, blank=True)
    # True once an erasure has blanked this entry's personal values (LGPD);
    # the only change an entry may ever undergo.
    redacted = models.BooleanField("anonimizado", default=False)

    class Meta:
        verbose_name = "registro de auditoria"
        verbose_name_plural = "trilha de auditoria"
        ordering = ("-timestamp", "-id")
        indexes = (models.Index(fields=["object_type", "object_id", "-timestamp"], name="audit_object"),)
        # the whole trail (every person, every record) in the app: Administração only;
        # view_auditentry (every role) is the short history on a record's own page
        permissions = (("view_audit_trail", "Pode consultar a trilha de auditoria completa"),)

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} {self.action} {self.field}"


class MergeRecord(models.Model):
    """One merge of two tutors or two animals (registry.merge): which record
    absorbed which, what the absorbed one looked like, and what moved. The
    survivor's history (audit.entries_for) includes the absorbed record's
    entries through these rows; a link to the absorbed record leads to the
    survivor."""

    class Kind(models.TextChoices):
        TUTOR = "tutor", "Tutor"
        ANIMAL = "animal", "Animal"

    kind = models.CharField("tipo", max_length=10, choices=Kind.choices)
    survivor_id = models.PositiveBigIntegerField("cadastro mantido")
    absorbed_id = models.PositiveBigIntegerField("cadastro absorvido")
    absorbed_snapshot = models.JSONField("dados do cadastro absorvido", default=dict)
    moved = models.JSONField("registros transferidos", default=dict)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="por", null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    username = models.CharField("usuário (nome)", max_length=150, blank=True)
    at = models.DateTimeField("quando", default=timezone.now)

    class Meta:
        verbose_name = "mesclagem"
        verbose_name_plural = "mesclagens"
        ordering = ("-at", "-id")
        constraints = (models.UniqueConstraint(fields=["kind", "absorbed_id"], name="absorbed_once"),)
        indexes = (models.Index(fields=["kind", "survivor_id"], name="merge_survivor"),)

    def __str__(self) -> str:
        return f"{self.kind} {self.absorbed_id} -> {self.survivor_id}"


class StaffProfile(models.Model):
    """What the clinic keeps about a staff account besides Django's User.

    ``must_change_password``: set when Administração resets a password (or
    creates the account); ``clinic.middleware.PasswordChangeRequiredMiddleware``
    sends the user to the password-change page until they choose their own."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    must_change_password = models.BooleanField("precisa trocar a senha", default=False)

    class Meta:
        verbose_name = "perfil da equipe"
        verbose_name_plural = "perfis da equipe"

    def __str__(self) -> str:
        return f"perfil de {self.user_id}"


class PhotoDeletion(models.Model):
    """Outbox for deleting a photo's objects in S3 (registry.outbox).

    Written in the same transaction that removes the Photo row; retried until a
    sweep of uploads/<photo_id>/ and processed/<photo_id>/ finds nothing after
    the processor can no longer write (``settle_until``)."""

    photo_id = models.CharField("ID da foto", max_length=32, unique=True)
    animal_id = models.PositiveBigIntegerField("animal", null=True, blank=True)
    original_name = models.CharField("nome do arquivo", max_length=255, blank=True)
    requested_by = models.CharField("pedida por", max_length=150, blank=True)
    requested_at = models.DateTimeField("pedida em", default=timezone.now)
    settle_until = models.DateTimeField("conferir até")
    next_attempt_at = models.DateTimeField("próxima tentativa", default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField("tentativas", default=0)
    objects_deleted = models.PositiveIntegerField("objetos excluídos", default=0)
    last_error = models.CharField("último erro", max_length=300, blank=True)
    done_at = models.DateTimeField("concluída em", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "exclusão de foto"
        verbose_name_plural = "exclusões de fotos"
        ordering = ("-requested_at", "id")

    def __str__(self) -> str:
        return f"{self.photo_id} ({'concluída' if self.done_at else 'pendente'})"


class SignInGate(models.Model):
    """One row per client address, locked while a sign-in attempt is admitted
    (registry.auth): the check and the count happen under this lock."""

    ip = models.CharField(max_length=45, unique=True)

    class Meta:
        verbose_name = "controle de acesso por endereço"
        verbose_name_plural = "controles de acesso por endereço"


class ConsentRecord(models.Model):
    """One consent decision of a tutor (LGPD art. 7 I / art. 8): append-only.

    The tutor's current consent for a purpose is the latest record for it
    (registry.consent.current); granting and withdrawing each add a record with
    when, who recorded it and how the tutor expressed it. Only an erasure
    (registry.lgpd.erase) ever changes a stored record: it blanks ``note``."""

    class Purpose(models.TextChoices):
        PHOTOS = "photos", "Fotografias dos animais"
        WHATSAPP = "whatsapp", "Comunicações por WhatsApp"
        EMAIL = "email", "Comunicações por e-mail"
        SMS = "sms", "Comunicações por SMS"

    class Method(models.TextChoices):
        IN_PERSON = "in_person", "Presencial (verbal)"
        SIGNED = "signed", "Termo assinado"
        EMAIL = "email", "E-mail"
        WHATSAPP = "whatsapp", "WhatsApp"
        PHONE = "phone", "Telefone"

    tutor = models.ForeignKey(Tutor, verbose_name="tutor", on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField("finalidade", max_length=20, choices=Purpose.choices)
    granted = models.BooleanField("consentiu")
    method = models.CharField("como foi informado", max_length=20, choices=Method.choices)
    note = models.CharField("observação", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="registrado por", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    recorded_by_name = models.CharField("registrado por (usuário)", max_length=150, blank=True)
    recorded_at = models.DateTimeField("registrado em", default=timezone.now)

    class Meta:
        verbose_name = "consentimento"
        verbose_name_plural = "consentimentos"
        ordering = ("-recorded_at", "-id")
        indexes = (models.Index(fields=["tutor", "purpose", "-recorded_at", "-id"], name="consent_current"),)
        # LGPD actions on a tutor (registry.views_lgpd); on this model so the
        # Tutor model's options stay untouched.
        permissions = (
            ("data_request_tutor", "Pode gerar o relatório de dados de um tutor (LGPD)"),
            ("erase_tutor", "Pode anonimizar os dados pessoais de um tutor (LGPD)"),
        )

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {'sim' if self.granted else 'não'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ConsentRecord is append-only: record a new decision instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ConsentRecord is append-only")
