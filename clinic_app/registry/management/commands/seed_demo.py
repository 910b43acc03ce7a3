"""Seed realistic demo data: pt-BR names, valid CPFs, phones, microchips.

Fast enough for the benchmark (50,000 animals / 20,000 tutors): bulk_create in
batches, search columns filled directly. Deterministic with --seed.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from registry import photo_contract
from registry.breeds import SRD
from registry.models import Animal, ConsentRecord, Photo, Tutor
from registry.validators import cpf_check_digits, fold

FIRST = ("Ana Maria João José Antônio Francisco Carlos Paulo Pedro Lucas Luiz Marcos Luís Gabriel Rafael Daniel "
         "Marcelo Bruno Eduardo Felipe Raimundo Rodrigo Manoel Mateus André Fernando Fábio Leonardo Gustavo "
         "Guilherme Leandro Tiago Anderson Ricardo Márcio Jorge Alexandre Sebastião Roberto Juliana Adriana "
         "Márcia Fernanda Patrícia Aline Sandra Camila Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa "
         "Mariana Gabriela Vera Vitória Larissa Cláudia Beatriz Rita Luana Sônia Renata Eliane Conceição "
         "Heloísa Débora Tânia Simone Cecília Otávio Caio Vinícius Thaís Natália Priscila Raquel Lúcia").split()
LAST = ("Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro Martins Carvalho "
        "Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento Andrade Moreira Nunes Marques "
        "Machado Mendes Freitas Cardoso Ramos Gonçalves Santana Teixeira Araújo Cavalcanti Monteiro Moraes "
        "Pinto Correia Batista Campos Castro Borges Azevedo Melo Brandão Figueiredo Coelho Sampaio Macedo "
        "Guimarães Queiroz Rezende Siqueira Tavares Xavier Leite Magalhães Peixoto Farias Aragão").split()
PET_NAMES = ("Thor Mel Luna Bob Pipoca Nina Fred Mia Max Amora Belinha Lola Toddy Simba Bidu Zeus Pandora Pretinha "
             "Meg Chico Frida Paçoca Bolinha Pituca Jade Marley Tequila Cacau Nick Mimi Princesa Sansão Faísca "
             "Biscoito Tobias Pérola Safira Maya Kiara Ringo Pingo Floquinho Feijão Açaí Costelinha Nescau "
             "Olívia Theo Apolo Malu Lua Estrela Tigrão Fumaça Caramelo Docinho Cookie Bento Jujuba Mingau "
             "Pudim Brisa Trovão Relâmpago Canela Sushi Tapioca Cuscuz Quindim Bartolomeu Hércules Dalila").split()
# species codes: registry.breeds.DEFAULT_SPECIES (migration 0007)
SPECIES = [("dog", 52), ("cat", 33), ("bird", 4), ("rabbit", 2), ("rodent", 3), ("reptile", 1), ("fish", 1),
           ("ferret", 1), ("horse", 1), ("cattle", 1), ("other", 1)]
BREEDS = {
    "dog": [SRD, "Shih-tzu", "Poodle", "Yorkshire", "Lhasa Apso", "Golden Retriever", "Labrador", "Pinscher",
            "Spitz Alemão", "Bulldog Francês", "Border Collie", "Dachshund", "Pastor Alemão", "Rottweiler", "Beagle"],
    "cat": [SRD, "Siamês", "Persa", "Maine Coon", "Angorá", "Sphynx", "Ragdoll", "British Shorthair"],
    "bird": ["Calopsita", "Periquito", "Papagaio-verdadeiro", "Canário", "Agapornis"],
    "rodent": ["Hamster sírio", "Porquinho-da-índia", "Chinchila", "Twister", "Gerbil"],
    "reptile": ["Jabuti-piranga", "Iguana", "Teiú", "Corn snake", "Gecko-leopardo"],
    "horse": ["Mangalarga Marchador", "Quarto de Milha", "Crioulo", "Campolina", "Árabe"],
    "cattle": ["Nelore", "Gir", "Holandesa", "Girolando", "Angus"],
    "rabbit": [SRD, "Mini Lion", "Fuzzy Lop", "Holland Lop"],
    "fish": ["Betta", "Kinguio", "Acará-bandeira"],
    "ferret": [SRD],
    "other": ["Mini pig", "Ouriço-pigmeu"],
}
COATS = ["preto", "branco", "caramelo", "tigrado", "tricolor", "cinza", "marrom", "branco e preto", "dourado",
         "creme", "rajado", "frajola", "mancha branca no peito", "pintas pretas", "verde", "amarelo"]
CITIES = [("São Paulo", "SP", "11"), ("Campinas", "SP", "19"), ("Rio de Janeiro", "RJ", "21"), ("Niterói", "RJ", "21"),
          ("Belo Horizonte", "MG", "31"), ("Curitiba", "PR", "41"), ("Porto Alegre", "RS", "51"),
          ("Florianópolis", "SC", "48"), ("Salvador", "BA", "71"), ("Recife", "PE", "81"), ("Fortaleza", "CE", "85"),
          ("Brasília", "DF", "61"), ("Goiânia", "GO", "62"), ("Belém", "PA", "91"), ("Manaus", "AM", "92")]
STREETS = ["Rua das Flores", "Avenida Brasil", "Rua São João", "Rua Sete de Setembro", "Avenida Paulista",
           "Rua XV de Novembro", "Rua Bela Vista", "Travessa da Paz", "Rua Tiradentes", "Alameda Santos",
           "Rua Dom Pedro II", "Avenida Getúlio Vargas", "Rua do Comércio", "Rua Marechal Deodoro"]
NEIGHBOURHOODS = ["Centro", "Jardim América", "Vila Nova", "Santa Cecília", "Boa Vista", "Liberdade", "Copacabana",
                  "Savassi", "Batel", "Moinhos de Vento", "Pituba", "Boa Viagem", "Aldeota", "Asa Sul"]


TUTOR_COLUMNS = ["name", "search_name", "cpf", "phone", "phone_secondary", "search_phones", "email", "cep",
                 "street", "number", "complement", "neighbourhood", "city", "uf", "notes", "created_at", "updated_at"]
ANIMAL_COLUMNS = ["name", "search_name", "species", "breed", "sex", "neutered", "birth_date", "birth_date_estimated",
                  "coat", "microchip", "weight_kg", "tutor_id", "is_active", "deceased", "deceased_on", "notes",
                  "created_at", "updated_at"]
PHOTO_COLUMNS = ["photo_id", "animal_id", "key", "original_name", "content_type", "size", "uploaded_at", "status",
                 "is_primary", "renditions", "error_code", "error_message", "processed_at"]
PHOTO_NAME = "foto.jpg"


class Identifiers:
    """Valid CPFs and microchips never used before (in the database or this run)."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.cpfs = set(Tutor.objects.exclude(cpf=None).values_list("cpf", flat=True))
        self.chips = set(Animal.objects.exclude(microchip=None).values_list("microchip", flat=True))

    def cpf(self) -> str:
        while True:
            base = f"{self.rnd.randrange(1, 10**9):09d}"
            value = base + cpf_check_digits(base)
            if value not in self.cpfs and value != value[0] * 11:
                self.cpfs.add(value)
                return value

    def chip(self) -> str:
        while True:
            value = "076" + f"{self.rnd.randrange(10**12):012d}"  # 076 = Brazil (ISO 3166)
            if value not in self.chips:
                self.chips.add(value)
                return value


def insert(model, columns: list[str], rows: list[tuple], batch: int) -> None:
    """Plain INSERTs (executemany) rather than bulk_create: ~20x faster for the
    benchmark's 70k rows; values are adapted with the backend's ops by the caller."""
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for i in range(0, len(rows), batch):
            cursor.executemany(sql, rows[i:i + batch])


def tutor_row(rnd: random.Random, ids: Identifiers, now_db) -> tuple:
    city, uf, ddd = rnd.choice(CITIES)
    first = rnd.choice(FIRST)
    name = f"{first} {rnd.choice(LAST)} {rnd.choice(LAST)}"
    phone = f"{ddd}9{rnd.randrange(10**8):08d}"
    phone2 = f"{ddd}{rnd.choice('2345')}{rnd.randrange(10**7):07d}" if rnd.random() < 0.2 else ""
    return (
        name, fold(name), ids.cpf() if rnd.random() < 0.9 else None, phone, phone2, f"{phone} {phone2}".strip(),
        f"{fold(first)}.{rnd.randrange(10000)}@exemplo.com.br" if rnd.random() < 0.7 else "",
        f"{rnd.randrange(1000, 99999):05d}{rnd.randrange(1000):03d}",
        rnd.choice(STREETS), str(rnd.randrange(1, 3000)),
        rnd.choice(["", "", "", "apto 12", "casa 2", "bloco B apto 304", "fundos"]),
        rnd.choice(NEIGHBOURHOODS), city, uf, "", now_db, now_db,
    )


def animal_row(rnd: random.Random, ids: Identifiers, pick_tutor, today: date, now_db) -> tuple:
    """One animal; the random draws keep their historical order (a seed gives the same clinic)."""
    ops = connection.ops
    species_pop, species_w = zip(*SPECIES, strict=True)
    sp = rnd.choices(species_pop, species_w)[0]
    name = rnd.choice(PET_NAMES)
    born = today - timedelta(days=rnd.randrange(30, 365 * 16))
    deceased = rnd.random() < 0.03
    weight = (rnd.uniform(250, 700) if sp in ("horse", "cattle") else rnd.uniform(0.005, 0.4) if sp == "fish"
              else rnd.uniform(0.05, 45.0))
    sex = (rnd.choice(["male", "female", "female", "male", "unknown"]) if sp in ("bird", "reptile")
           else rnd.choice(["male", "female"]))
    breed, neutered = rnd.choice(BREEDS[sp]), rnd.random() < 0.5
    estimated, coat = rnd.random() < 0.25, rnd.choice(COATS)
    chip = ids.chip() if rnd.random() < 0.6 else None
    tutor_id, active = pick_tutor(), rnd.random() > 0.08
    died = date.fromordinal(rnd.randrange(born.toordinal(), today.toordinal() + 1)) if deceased else None
    return (
        name, fold(name), sp, breed, sex, neutered, ops.adapt_datefield_value(born), estimated, coat, chip,
        ops.adapt_decimalfield_value(Decimal(str(round(weight, 2))), 7, 3), tutor_id, active, deceased,
        ops.adapt_datefield_value(died), "", now_db, now_db,
    )


def photo_row(rnd: random.Random, animal_id: int, now_db) -> tuple:
    """A processed photo as the contract describes it (no object in S3: for benchmarks)."""
    pid = f"{rnd.getrandbits(128):032x}"
    renditions = {
        spec.name: {"key": photo_contract.rendition_key(pid, spec.name), "width": spec.box, "height": spec.box,
                    "bytes": spec.box * 40, "content_type": photo_contract.CONTENT_TYPE}
        for spec in photo_contract.RENDITIONS
    }
    return (pid, animal_id, photo_contract.upload_key(pid, PHOTO_NAME), PHOTO_NAME, photo_contract.CONTENT_TYPE,
            123456, now_db, photo_contract.STATUS_OK, True, json.dumps(renditions), "", "", now_db)


class Command(BaseCommand):
    help = "Popula o banco com dados de demonstração realistas (tutores e animais)."

    def add_arguments(self, parser):
        parser.add_argument("--animals", type=int, default=200)
        parser.add_argument("--tutors", type=int, default=None, help="padrão: 40%% do número de animais")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--with-photos", type=float, default=0.0, metavar="FRACTION",
                            help="fração de animais com uma foto 'ok' fictícia (para benchmark; sem objeto no S3)")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, **options):
        rnd = random.Random(options["seed"])
        n_animals = max(0, options["animals"])
        n_tutors = options["tutors"] if options["tutors"] is not None else max(1, int(n_animals * 0.4))
        self.batch = options["batch_size"]
        self.now_db = connection.ops.adapt_datetimefield_value(timezone.now())
        ids = Identifiers(rnd)
        with transaction.atomic():
            tutor_ids = self.seed_tutors(rnd, ids, n_tutors, consent_seed=options["seed"] + 1)
            if not tutor_ids:
                self.stdout.write("Nenhum tutor disponível.")
                return
            animal_ids = self.seed_animals(rnd, ids, n_animals, tutor_ids)
            if options["with_photos"] > 0:
                self.seed_photos(rnd, animal_ids, options["with_photos"])
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # planner statistics for the new volume
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Criados {n_tutors} tutores e {n_animals} animais."))

    def seed_tutors(self, rnd: random.Random, ids: Identifiers, count: int, consent_seed: int) -> list[int]:
        """The new tutors' ids (every tutor's when none was added)."""
        last = Tutor.objects.order_by("-id").values_list("id", flat=True).first() or 0
        insert(Tutor, TUTOR_COLUMNS, [tutor_row(rnd, ids, self.now_db) for _ in range(count)], self.batch)
        new = list(Tutor.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True))
        self.seed_consent(random.Random(consent_seed), new)
        return new or list(Tutor.objects.values_list("id", flat=True))

    def seed_consent(self, rnd: random.Random, tutor_ids: list[int]) -> None:
        """Each demo tutor signed the photo consent at registration (no photo
        upload without it, LGPD); some accept WhatsApp/e-mail messages. Its own
        generator: the records and animals stay those of --seed."""
        signed = ConsentRecord.Method.SIGNED.value
        rows = []
        for tid in tutor_ids:
            rows.append((tid, ConsentRecord.Purpose.PHOTOS.value, True, signed, "", "", self.now_db))
            for purpose in (ConsentRecord.Purpose.WHATSAPP, ConsentRecord.Purpose.EMAIL):
                if rnd.random() < 0.5:
                    rows.append((tid, purpose.value, True, signed, "", "", self.now_db))
        insert(ConsentRecord, ["tutor_id", "purpose", "granted", "method", "note", "recorded_by_name",
                               "recorded_at"], rows, self.batch)

    def seed_animals(self, rnd: random.Random, ids: Identifiers, count: int, tutor_ids: list[int]):
        """The new animals' ids; the first tutors get one animal each, so every tutor has at least one."""
        last = Animal.objects.order_by("-id").values_list("id", flat=True).first() or 0
        today = timezone.localdate()
        rows = [animal_row(rnd, ids, lambda i=i: tutor_ids[i] if i < len(tutor_ids) else rnd.choice(tutor_ids),
                           today, self.now_db) for i in range(count)]
        insert(Animal, ANIMAL_COLUMNS, rows, self.batch)
        return Animal.objects.filter(id__gt=last).values_list("id", flat=True)

    def seed_photos(self, rnd: random.Random, animal_ids, fraction: float) -> None:
        rows = [photo_row(rnd, animal_id, self.now_db) for animal_id in animal_ids.iterator()
                if rnd.random() < fraction]
        insert(Photo, PHOTO_COLUMNS, rows, self.batch)
