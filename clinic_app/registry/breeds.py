"""Species and breeds: the defaults a new clinic starts with, and the one way a
typed breed is normalised (a single SRD per species, known breeds spelt as on
file).

Migration 0007 seeds ``DEFAULT_SPECIES`` and ``DEFAULT_BREEDS``; Administração
manages them afterwards in the app (registry.views_species).
"""

from __future__ import annotations

import re

from django.utils.text import slugify

from .validators import fold

SRD = "SRD (sem raça definida)"  # models.Breed.SRD is this value

# (code, name, order). The first eight codes are the ones Animal.species held
# as fixed choices before migration 0007; the data migration keeps them.
DEFAULT_SPECIES = (
    ("dog", "Cão", 10),
    ("cat", "Gato", 20),
    ("bird", "Ave", 30),
    ("rabbit", "Coelho", 40),
    ("rodent", "Roedor", 50),
    ("reptile", "Réptil", 60),
    ("fish", "Peixe", 70),
    ("ferret", "Furão", 80),
    ("horse", "Equino", 90),
    ("cattle", "Bovino", 100),
    ("other", "Outro", 900),
)

# Common breeds in Brazilian clinics (SRD is added to every species separately).
DEFAULT_BREEDS = {
    "dog": ["Shih-tzu", "Poodle", "Yorkshire", "Lhasa Apso", "Golden Retriever", "Labrador", "Pinscher",
            "Spitz Alemão (Lulu da Pomerânia)", "Bulldog Francês", "Bulldog Inglês", "Border Collie", "Dachshund",
            "Pastor Alemão", "Rottweiler", "Beagle", "Maltês", "Pug", "Chihuahua", "Schnauzer", "Pit Bull",
            "American Bully", "Boxer", "Cocker Spaniel", "Husky Siberiano", "Akita", "Chow Chow", "Dobermann",
            "Fila Brasileiro", "Pastor Belga", "Bernese", "Weimaraner", "Dálmata", "Basset Hound",
            "Cavalier King Charles Spaniel", "Jack Russell Terrier", "Buldogue Campeiro", "Terrier Brasileiro"],
    "cat": ["Siamês", "Persa", "Maine Coon", "Angorá", "Sphynx", "Ragdoll", "British Shorthair", "Bengal",
            "Himalaio", "Exótico", "Scottish Fold", "Azul Russo", "Sagrado da Birmânia", "Abissínio", "Savannah"],
    "bird": ["Calopsita", "Periquito-australiano", "Papagaio-verdadeiro", "Canário", "Agapornis", "Cacatua",
             "Ring neck", "Arara", "Maritaca"],
    "rabbit": ["Mini Lion", "Fuzzy Lop", "Holland Lop", "Mini Rex", "Angorá", "Teddy"],
    "rodent": ["Hamster sírio", "Hamster anão russo", "Porquinho-da-índia", "Chinchila", "Twister", "Gerbil"],
    "reptile": ["Jabuti-piranga", "Jabuti-tinga", "Tigre-d'água", "Iguana", "Teiú", "Corn snake",
                "Gecko-leopardo", "Píton-bola"],
    "fish": ["Betta", "Kinguio", "Carpa", "Acará-bandeira", "Guppy"],
    "ferret": [],
    "horse": ["Mangalarga Marchador", "Quarto de Milha", "Crioulo", "Campolina", "Árabe", "Puro-sangue Inglês",
              "Pônei"],
    "cattle": ["Nelore", "Gir", "Holandesa", "Girolando", "Angus", "Jersey", "Brahman"],
    "other": [],
}


def breed_key(name: str | None) -> str:
    """What makes two spellings the same breed: no case, accents, spaces or punctuation."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


# Every way the front desk types "no defined breed".
SRD_KEYS = frozenset(breed_key(x) for x in (
    "SRD", "S.R.D.", "sem raça definida", "sem raca", "SRD sem raça definida", "SRD (sem raça definida)",
    "sem raça", "vira-lata", "vira lata", "viralata", "vira-latas",
))


def is_srd(name: str | None) -> bool:
    return breed_key(name) in SRD_KEYS


def normalise_breed(name: str | None, known: dict[str, str] | None = None) -> str:
    """The breed as it is saved: spaces tidied; any spelling of SRD -> ``SRD``;
    a known breed of the species (``known``: key -> name) spelt as on file."""
    text = " ".join((name or "").split())
    if not text:
        return ""
    if is_srd(text):
        return SRD
    return (known or {}).get(breed_key(text), text)


def new_species_code(name: str, taken) -> str:
    """A code (primary key) for a species added in the app: its name as a slug,
    made unique."""
    base = (slugify(fold(name)) or "especie")[:24]
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    return code
