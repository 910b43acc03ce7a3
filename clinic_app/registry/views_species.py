"""Species and breed suggestions, managed by Administração (pt-BR pages).

A species is never deleted: deactivating it stops offering it for new animals
while the animals that have it keep it. Breeds are suggestions for the animal
form's breed field; each species has exactly one SRD, which cannot be removed.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import breeds
from .forms import focus_first_field
from .models import Breed, Species
from .validators import fold
from .views import perm

log = logging.getLogger(__name__)


class SpeciesForm(forms.ModelForm):
    class Meta:
        model = Species
        fields = ("name", "order", "active")
        labels = {"name": "Nome", "order": "Ordem na lista", "active": "Ativa (oferecida para novos animais)"}
        help_texts = {"order": "Menor primeiro.", "active": "Desmarcada: os animais que já a têm continuam com ela."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].error_messages["invalid"] = "Informe um número inteiro."
        focus_first_field(self)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 2:
            raise ValidationError("Informe o nome da espécie.")
        name = name[0].upper() + name[1:]
        clash = [s for s in Species.objects.exclude(pk=self.instance.pk).only("name") if fold(s.name) == fold(name)]
        if clash:
            raise ValidationError(f"Já existe a espécie “{clash[0].name}”.")
        return name


class BreedForm(forms.Form):
    name = forms.CharField(label="Nova raça", max_length=100,
                           error_messages={"required": "Informe o nome da raça."})

    def __init__(self, *args, species: Species, **kwargs):
        super().__init__(*args, **kwargs)
        self.species = species

    def clean_name(self):
        name = breeds.normalise_breed(self.cleaned_data["name"])
        if len(name) < 2:
            raise ValidationError("Informe o nome da raça.")
        key = breeds.breed_key(name)
        existing = Breed.objects.filter(species=self.species, key=key).first()
        if existing is not None:
            raise ValidationError(f"{self.species.name} já tem a raça “{existing.name}”.")
        return name


@perm("view_species")
@require_GET
def species_list(request):
    species = (Species.objects.annotate(n_animals=Count("animals", distinct=True), n_breeds=Count("breeds", distinct=True))
               .order_by("order", "name"))
    return render(request, "registry/species_list.html", {"species": species})


@perm("add_species")
def species_create(request):
    if request.method == "POST":
        form = SpeciesForm(request.POST)
        if form.is_valid():
            obj = form.save(commit=False)
            taken = set(Species.objects.values_list("code", flat=True))
            obj.code = breeds.new_species_code(obj.name, taken)
            try:
                with transaction.atomic():
                    obj.save(force_insert=True)
                    Breed.objects.create(species=obj, name=breeds.SRD)  # every species has its SRD
            except IntegrityError:  # the same name saved at the same time by someone else
                form.add_error("name", "Já existe uma espécie com este nome.")
            else:
                log.info("species %s added by user id %s", obj.code, request.user.pk)
                messages.success(request, f"Espécie “{obj.name}” cadastrada.")
                return redirect("species_edit", pk=obj.pk)
    else:
        form = SpeciesForm(initial={"order": 500, "active": True})
    return render(request, "registry/species_form.html", {"form": form, "species": None})


@perm("change_species")
def species_edit(request, pk: str):
    species = get_object_or_404(Species, pk=pk)
    if request.method == "POST":
        form = SpeciesForm(request.POST, instance=species)
        if form.is_valid():
            try:
                form.save()
            except IntegrityError:
                form.add_error("name", "Já existe uma espécie com este nome.")
            else:
                log.info("species %s changed by user id %s", species.code, request.user.pk)
                messages.success(request, f"Espécie “{species.name}” salva.")
                return redirect("species_edit", pk=species.pk)
    else:
        form = SpeciesForm(instance=species)
    return _edit_page(request, species, form, BreedForm(species=species))


def _edit_page(request, species, form, breed_form, status=200):
    return render(request, "registry/species_form.html", {
        "form": form, "species": species, "breed_form": breed_form,
        "breeds": species.breeds.order_by("-is_srd", "name"),
        "n_animals": species.animals.count(),
    }, status=status)


@perm("add_breed")
@require_POST
def breed_create(request, pk: str):
    species = get_object_or_404(Species, pk=pk)
    breed_form = BreedForm(request.POST, species=species)
    if breed_form.is_valid():
        try:
            with transaction.atomic():
                Breed.objects.create(species=species, name=breed_form.cleaned_data["name"])
        except IntegrityError:
            breed_form.add_error("name", "Esta raça acabou de ser cadastrada por outra pessoa.")
        else:
            messages.success(request, f"Raça “{breed_form.cleaned_data['name']}” adicionada às sugestões de {species.name}.")
            return redirect("species_edit", pk=species.pk)
    return _edit_page(request, species, SpeciesForm(instance=species), breed_form, status=400)


@perm("delete_breed")
@require_POST
def breed_delete(request, pk: int):
    breed = get_object_or_404(Breed.objects.select_related("species"), pk=pk)
    if breed.is_srd:
        messages.error(request, "A raça SRD não pode ser removida: toda espécie tem a sua.")
    else:
        breed.delete()  # only a suggestion: animals keep the breed written on them
        messages.success(request, f"Raça “{breed.name}” removida das sugestões de {breed.species.name}.")
    return redirect("species_edit", pk=breed.species_id)
