"""Forms with pt-BR labels/messages; normalisation of CPF, phones, CEP, microchip."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from . import breeds, display
from . import validators as v
from .models import Animal, Breed, Species, Tutor

DATE_FORMAT = display.DATE_FORMAT


class BRDateInput(forms.DateInput):
    def __init__(self, attrs=None):
        base = {"placeholder": "dd/mm/aaaa", "inputmode": "numeric", "autocomplete": "off", "size": 10}
        base.update(attrs or {})
        super().__init__(attrs=base, format=DATE_FORMAT)


_DATE_DIGITS = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_DATE_SEPARATED = re.compile(r"([0-9]{1,2})\s*[./\-\s]\s*([0-9]{1,2})\s*[./\-\s]\s*([0-9]{4})")


class BRDateField(forms.DateField):
    """dd/mm/aaaa typed any way a phone keypad allows: 12032020, 12.03.2020,
    12-03-2020, 12 03 2020, 12/03/2020 (the widget asks for the numeric keypad)."""

    widget = BRDateInput

    def to_python(self, value):
        if isinstance(value, str):
            text = v.ascii_digits(value, strict=False).strip()  # full-width keypads too (issue 13)
            m = _DATE_DIGITS.fullmatch(text) or _DATE_SEPARATED.fullmatch(text)
            if m:
                value = "{:0>2}/{:0>2}/{}".format(*m.groups())
        return super().to_python(value)


def focus_first_field(form) -> None:
    """A blank form puts the cursor in its first field (a bound one focuses the error summary)."""
    if not form.is_bound:
        first = next((f for f in form.visible_fields()), None)
        if first is not None:
            first.field.widget.attrs["autofocus"] = True


def name_empty_choices(form, labels: dict[str, str]) -> None:
    """Replace Django's "---------" empty choice with words (every choice field of the form)."""
    for name, field in form.fields.items():
        choices = getattr(field, "choices", None)
        if choices is None or isinstance(field, forms.ModelChoiceField):
            continue
        field.choices = [("", labels.get(name, "Selecione")) if value == "" else (value, label)
                         for value, label in choices]


def edit_token_field():
    """The version (and the values) an edit form was opened with, signed
    (registry.editing): a stale save is detected and the conflict page can say
    what changed."""
    return forms.CharField(required=False, widget=forms.HiddenInput)


class TutorForm(forms.ModelForm):
    edit_token = edit_token_field()
    cpf = forms.CharField(label="CPF", required=False, max_length=20,
                          widget=forms.TextInput(attrs={"placeholder": "000.000.000-00", "inputmode": "numeric"}))
    phone = forms.CharField(label="Telefone", max_length=25,
                            widget=forms.TextInput(attrs={"placeholder": "(11) 98765-4321", "inputmode": "tel"}))
    phone_secondary = forms.CharField(label="Outro telefone", required=False, max_length=25,
                                      widget=forms.TextInput(attrs={"inputmode": "tel"}))
    cep = forms.CharField(label="CEP", required=False, max_length=10,
                          widget=forms.TextInput(attrs={"placeholder": "00000-000", "inputmode": "numeric"}))
    # Shown only when likely duplicates were found (views.tutor_create).
    not_duplicate = forms.BooleanField(label="É outra pessoa: cadastrar mesmo assim", required=False)

    class Meta:
        model = Tutor
        fields = ("name", "cpf", "phone", "phone_secondary", "email", "cep", "street", "number",
                  "complement", "neighbourhood", "city", "uf", "notes")
        widgets: ClassVar = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail"
        self.fields["email"].error_messages["invalid"] = "Informe um e-mail válido, ex.: nome@exemplo.com.br."
        name_empty_choices(self, {"uf": "—"})
        focus_first_field(self)
        if self.instance.pk:  # show stored digits formatted
            self.initial["cpf"] = self.instance.cpf_display
            self.initial["phone"] = self.instance.phone_display
            self.initial["phone_secondary"] = self.instance.phone_secondary_display
            self.initial["cep"] = self.instance.cep_display

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 2:
            raise ValidationError("Informe o nome completo do tutor.")
        return name

    def clean_cpf(self):
        return v.normalise_cpf(self.cleaned_data.get("cpf"))

    def clean_phone(self):
        return v.normalise_phone(self.cleaned_data.get("phone"))

    def clean_phone_secondary(self):
        return v.normalise_phone(self.cleaned_data.get("phone_secondary"))

    def clean_cep(self):
        return v.normalise_cep(self.cleaned_data.get("cep"))


class TutorChoiceField(forms.ModelChoiceField):
    """A tutor by id; the id of a tutor merged into another stands for the
    survivor (a form opened before the merge still names the old one)."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            from .merge import survivor_of

            if str(value).isascii() and str(value).isdigit():
                survivor = survivor_of("tutor", int(value))
                if survivor is not None:
                    return super().to_python(survivor)
            raise


class AnimalForm(forms.ModelForm):
    edit_token = edit_token_field()
    tutor = TutorChoiceField(queryset=Tutor.objects.all(), widget=forms.HiddenInput,
                                   error_messages={"required": "Escolha o tutor do animal.",
                                                   "invalid_choice": "Tutor não encontrado."})
    microchip = forms.CharField(label="Microchip", required=False, max_length=30,
                                help_text="15 dígitos (ISO 11784); modelos antigos: 10 caracteres (FDX-A) ou 9 dígitos (AVID).",
                                widget=forms.TextInput(attrs={"placeholder": "000000000000000", "autocapitalize": "characters"}))
    age_years = forms.IntegerField(label="Idade estimada (anos)", required=False, min_value=0, max_value=80)
    age_months = forms.IntegerField(label="Idade estimada (meses além dos anos)", required=False, min_value=0,
                                    max_value=11)
    weight_kg = forms.DecimalField(label="Peso (kg)", required=False, max_digits=7, decimal_places=3,
                                   localize=True, min_value=Decimal("0.001"), max_value=Decimal("2000"),
                                   error_messages={"min_value": "O peso deve ser maior que zero.",
                                                   "max_value": "Peso acima de 2.000 kg: confira o valor.",
                                                   "max_digits": "Peso acima de 2.000 kg: confira o valor.",
                                                   "max_decimal_places": "Informe o peso com até 3 casas decimais."},
                                   widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "ex.: 12,5"}))

    class Meta:
        model = Animal
        fields = ("name", "species", "breed", "sex", "neutered", "birth_date", "birth_date_estimated",
                  "coat", "microchip", "weight_kg", "tutor", "deceased", "deceased_on", "notes")
        field_classes: ClassVar = {"birth_date": BRDateField, "deceased_on": BRDateField}
        widgets: ClassVar = {
            "birth_date": BRDateInput(),
            "deceased_on": BRDateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].help_text = "Ou informe a idade estimada abaixo."
        species = self.fields["species"]
        # an inactive species is not offered for new animals; an animal that has it keeps it
        species.queryset = Species.objects.filter(Q(active=True) | Q(pk=self.instance.species_id or ""))
        species.empty_label = "Escolha a espécie"
        species.error_messages.update({"required": "Escolha a espécie.",
                                       "invalid_choice": "Escolha uma espécie da lista."})
        breed = self.fields["breed"]
        breed.widget.attrs.update({"list": "breed-options", "autocomplete": "off"})
        breed.help_text = "Escolha uma sugestão ou digite; sem raça definida: SRD."
        name_empty_choices(self, {})
        focus_first_field(self)

    def breed_suggestions(self) -> dict:
        """The breed datalist: ``by_species`` (code -> names, for the page's script,
        which refreshes the list when the species changes) and ``shown``: the chosen
        species' breeds, or every breed once when none is chosen (what a browser
        without JavaScript offers)."""
        by_species: dict[str, list[str]] = {}
        for code, name in Breed.objects.order_by("species_id", "-is_srd", "name").values_list("species_id", "name"):
            by_species.setdefault(code, []).append(name)
        chosen = self["species"].value()
        chosen = str(chosen.pk if hasattr(chosen, "pk") else chosen or "")
        if chosen in by_species:
            shown = by_species[chosen]
        else:
            names = {n for names in by_species.values() for n in names}
            shown = [breeds.SRD, *sorted(names - {breeds.SRD}, key=v.fold)]
        return {"by_species": by_species, "shown": shown}

    def clean_breed(self):
        species = self.cleaned_data.get("species")
        known = dict(Breed.objects.filter(species=species).values_list("key", "name")) if species else {}
        return breeds.normalise_breed(self.cleaned_data.get("breed"), known)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Informe o nome do animal.")
        return name

    def clean_microchip(self):
        return v.normalise_microchip(self.cleaned_data.get("microchip"))

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        birth = data.get("birth_date")
        years, months = data.get("age_years"), data.get("age_months")
        has_age = years is not None or months is not None
        if birth and has_age and "birth_date" in self.changed_data:
            self.add_error("age_years", "Informe a data de nascimento ou a idade estimada, não ambas.")
        elif has_age and (years or months):
            data["birth_date"] = Animal.estimated_birth_date(years or 0, months or 0, today)
            data["birth_date_estimated"] = True
        if data.get("birth_date") and data["birth_date"] > today:
            self.add_error("birth_date", "A data de nascimento não pode estar no futuro.")
        deceased_on = data.get("deceased_on")
        if deceased_on:
            data["deceased"] = True
            if deceased_on > today:
                self.add_error("deceased_on", "A data do óbito não pode estar no futuro.")
            elif data.get("birth_date") and deceased_on < data["birth_date"]:
                self.add_error("deceased_on", "A data do óbito não pode ser anterior ao nascimento.")
        elif data.get("deceased"):
            self.add_error("deceased_on", "Informe a data do óbito.")
        return data


class AnimalSearchForm(forms.Form):
    ACTIVE_CHOICES = (("1", "Ativos"), ("0", "Arquivados"), ("all", "Todos"))
    PER_PAGE_CHOICES = ((10, "10"), (25, "25"), (50, "50"), (100, "100"))
    q = forms.CharField(label="Buscar", required=False, max_length=100,
                        widget=forms.SearchInput(attrs={
                            "placeholder": "Nome do animal ou tutor, CPF, telefone, microchip",
                            "autofocus": True}))
    species = forms.ChoiceField(label="Espécie", required=False)
    active = forms.ChoiceField(label="Situação", required=False, initial="1",
                               choices=ACTIVE_CHOICES)
    per_page = forms.TypedChoiceField(label="Por página", required=False, coerce=int, empty_value=25,
                                      choices=PER_PAGE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # every species, inactive ones too: archived records still have them
        self.fields["species"].choices = [("", "Todas"), *species_choices()]


def species_choices() -> list[tuple[str, str]]:
    return list(Species.objects.order_by("order", "name").values_list("code", "name"))


class TutorSearchForm(forms.Form):
    q = forms.CharField(label="Buscar", required=False, max_length=100,
                        widget=forms.SearchInput(attrs={"placeholder": "Nome, CPF ou telefone", "autofocus": True}))
