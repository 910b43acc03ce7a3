"""List, search, filters, pagination, constant query count, CSV export, audit trail, pt-BR output."""

import csv
import io

import pytest
from django.urls import reverse
from registry.models import Animal, AuditEntry, Photo, Tutor

from .factories import make_cpf, token_for

pytestmark = pytest.mark.django_db


def names(response):
    return [row["animal"].name for row in response.context["rows"]]


@pytest.fixture
def dataset(make_tutor, make_animal):
    joao = make_tutor(name="João da Conceição", cpf="52998224725", phone="11987654321",
                      phone_secondary="2133334444")
    maria = make_tutor(name="Maria Oliveira", cpf=make_cpf(), phone="31991112222")
    rex = make_animal(name="Rex", tutor=joao, species="dog", microchip="076000000000001")
    mimi = make_animal(name="Mimi", tutor=maria, species="cat", microchip="985000000000002")
    loro = make_animal(name="Loro", tutor=maria, species="bird")
    velho = make_animal(name="Bolinha", tutor=joao, species="dog", is_active=False)
    return {"joao": joao, "maria": maria, "rex": rex, "mimi": mimi, "loro": loro, "velho": velho}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("rex", ["Rex"]),                      # animal name, case-insensitive
        ("REX", ["Rex"]),
        ("joao", ["Rex"]),                     # tutor name, accent-insensitive (archived hidden)
        ("conceição", ["Rex"]),
        ("oliveira", ["Loro", "Mimi"]),
        ("529.982.247-25", ["Rex"]),           # CPF with punctuation
        ("52998224725", ["Rex"]),              # CPF digits
        ("529982", ["Rex"]),                   # CPF prefix
        ("(11) 98765-4321", ["Rex"]),          # phone formatted
        ("98765-4321", ["Rex"]),               # phone without DDD
        ("3333-4444", ["Rex"]),                # secondary phone
        ("076000000000001", ["Rex"]),          # microchip exact
        ("076 000 000 000 001", ["Rex"]),
        ("98500000", ["Mimi"]),                # microchip prefix
        ("nada-disso", []),
    ],
)
def test_search(reception_client, dataset, q, expected):
    response = reception_client.get(reverse("animal_list"), {"q": q})
    assert response.status_code == 200
    assert names(response) == expected


def test_filters(reception_client, dataset):
    url = reverse("animal_list")
    assert names(reception_client.get(url)) == ["Loro", "Mimi", "Rex"]
    assert names(reception_client.get(url, {"species": "dog"})) == ["Rex"]
    assert names(reception_client.get(url, {"species": "dog", "active": "0"})) == ["Bolinha"]
    assert names(reception_client.get(url, {"active": "all"})) == ["Bolinha", "Loro", "Mimi", "Rex"]
    assert names(reception_client.get(url, {"active": "all", "q": "joao"})) == ["Bolinha", "Rex"]
    # invalid filter values fall back to defaults instead of erroring
    assert reception_client.get(url, {"species": "dragon", "per_page": "7"}).status_code == 200


def test_list_row_shows_tutor_phone_and_primary_thumbnail(reception_client, dataset, s3_bucket):
    Photo.objects.create(animal=dataset["rex"], key="uploads/p1/a.jpg", original_name="a.jpg",
                         content_type="image/jpeg", size=10, status="ok", is_primary=True, photo_id="p1",
                         renditions={"thumb": {"key": "processed/p1/t-200.jpg"}, "medium": {"key": "m"},
                                     "large": {"key": "l"}})
    html = reception_client.get(reverse("animal_list")).content.decode()
    assert 'class="list-thumb"' in html
    assert "processed/p1/t-200.jpg" in html and "X-Amz-Signature" in html
    assert "(11) 98765-4321" in html and "João da Conceição" in html


def _bulk(make_tutor, n):
    tutor = make_tutor(name="Tutor Em Massa")
    animals = [Animal(name=f"Animal {i:03d}", search_name=f"animal {i:03d}", species_id="dog", tutor=tutor)
               for i in range(n)]
    Animal.objects.bulk_create(animals)
    for i, a in enumerate(Animal.objects.order_by("id")):
        if i % 2 == 0:
            Photo.objects.create(animal=a, key=f"uploads/x{i}/a.jpg", original_name="a.jpg", content_type="image/jpeg",
                                 size=1, status="ok", is_primary=True, photo_id=f"x{i}",
                                 renditions={"thumb": {"key": f"processed/x{i}/thumb.jpg"}})
    return tutor


def test_pagination(reception_client, make_tutor):
    _bulk(make_tutor, 60)
    url = reverse("animal_list")
    first = reception_client.get(url, {"per_page": 25})
    assert first.context["page"].paginator.count == 60
    assert first.context["page"].paginator.num_pages == 3
    assert names(first)[0] == "Animal 000" and len(names(first)) == 25
    third = reception_client.get(url, {"per_page": 25, "page": 3})
    assert names(third) == [f"Animal {i:03d}" for i in range(50, 60)]
    html = first.content.decode()
    assert "Página 1 de 3" in html and 'rel="next"' in html and "per_page=25" in html
    # out-of-range page shows the last page rather than an error
    assert names(reception_client.get(url, {"page": 99})) == names(third)
    assert reception_client.get(url, {"page": "abc"}).status_code == 200


@pytest.mark.parametrize("per_page", [10, 50, 100])
def test_list_page_runs_a_constant_number_of_queries(reception_client, make_tutor, s3_bucket,
                                                     django_assert_num_queries, per_page):
    _bulk(make_tutor, 120)
    url = reverse("animal_list")
    # session, user, user permissions, group permissions, count, page ids, rows+tutor,
    # primary photos, the user's group names (header), the species filter's choices
    with django_assert_num_queries(10):
        response = reception_client.get(url, {"per_page": per_page})
    assert len(response.context["rows"]) == per_page
    with django_assert_num_queries(10):  # search: a how-broad probe + one ranked query on the index
        response = reception_client.get(url, {"per_page": per_page, "q": "animal"})
    assert len(response.context["rows"]) == per_page


def test_large_results_fall_back_to_count(reception_client, make_tutor, monkeypatch):
    from registry import search

    monkeypatch.setattr(search.DeferredJoinPaginator, "PROBE_LIMIT", 20)
    _bulk(make_tutor, 45)
    response = reception_client.get(reverse("animal_list"), {"per_page": 10, "page": 4})
    assert response.context["page"].paginator.count == 45
    assert names(response) == [f"Animal {i:03d}" for i in range(30, 40)]


def test_tutor_pages(reception_client, dataset):
    html = reception_client.get(reverse("tutor_detail", args=[dataset["joao"].pk])).content.decode()
    assert "Rex" in html and "Bolinha" in html and "529.982.247-25" in html and "(21) 3333-4444" in html
    response = reception_client.get(reverse("tutor_list"), {"q": "oliveira"})
    assert [t.name for t in response.context["page"].object_list] == ["Maria Oliveira"]
    response = reception_client.get(reverse("tutor_list"), {"q": "529.982.247-25"})
    assert [t.name for t in response.context["page"].object_list] == ["João da Conceição"]


def test_csv_export(admin_client_, dataset):
    dataset["mimi"].breed = "=HYPERLINK(\"http://x\")"
    dataset["mimi"].save()
    response = admin_client_.get(reverse("animal_export"), {"q": "oliveira"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="animais-')
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    header = rows[0]
    assert header[:5] == ["ID", "Nome", "Espécie", "Raça", "Sexo"]
    assert [r[1] for r in rows[1:]] == ["Loro", "Mimi"]  # filtered like the list
    mimi = dict(zip(header, rows[2], strict=True))
    assert mimi["Espécie"] == "Gato"
    assert mimi["Microchip"] == "985 000000000002"  # text in a spreadsheet (test_export.py)
    assert mimi["Tutor"] == "Maria Oliveira"
    assert mimi["Telefone"] == "(31) 99111-2222"
    assert mimi["Raça"].startswith("'=")  # spreadsheet formula neutralised
    assert mimi["Ativo"] == "Sim"
    full = b"".join(admin_client_.get(reverse("animal_export"), {"active": "all"}).streaming_content).decode()
    assert full.count("\n") == 5  # header + 4 animals


def test_audit_on_edit(vet_client, dataset):
    rex = dataset["rex"]
    data = {"name": "Rex", "species": "dog", "sex": "male", "tutor": rex.tutor_id, "breed": "Labrador",
            "microchip": "076000000000009", "weight_kg": "30,5", "birth_date": "01/02/2019", "neutered": "on"}
    response = vet_client.post(reverse("animal_edit", args=[rex.pk]), {**data, "edit_token": token_for(rex)})
    assert response.status_code == 302
    entries = {e.field: e for e in AuditEntry.objects.filter(object_type="animal", object_id=rex.pk)}
    assert entries["raça"].old_value == "" and entries["raça"].new_value == "Labrador"
    assert entries["microchip"].old_value == "076000000000001"
    assert entries["microchip"].new_value == "076000000000009"
    assert entries["peso (kg)"].new_value == "30,5"
    assert entries["data de nascimento"].new_value == "01/02/2019"
    assert entries["castrado(a)"].old_value == "Não" and entries["castrado(a)"].new_value == "Sim"
    assert all(e.username == "vet" and e.action == "update" for e in entries.values())
    assert "nome" not in entries  # unchanged fields are not logged
    html = vet_client.get(reverse("animal_detail", args=[rex.pk])).content.decode()
    assert 'id="audit-table"' in html and "Labrador" in html and "Alteração" in html
    # a save without changes writes nothing
    before = AuditEntry.objects.count()
    assert vet_client.post(reverse("animal_edit", args=[rex.pk]),
                           {**data, "edit_token": token_for(rex)}).status_code == 302
    assert AuditEntry.objects.count() == before


def test_audit_on_tutor_edit_and_archive(admin_client_, dataset):
    joao = dataset["joao"]
    data = {"name": joao.name, "cpf": "", "phone": "(11) 91111-2222", "phone_secondary": "", "email": "",
            "cep": "", "street": "", "number": "", "complement": "", "neighbourhood": "", "city": "", "uf": "",
            "notes": ""}
    data["edit_token"] = token_for(joao)
    assert admin_client_.post(reverse("tutor_edit", args=[joao.pk]), data).status_code == 302
    entries = {e.field: e for e in AuditEntry.objects.filter(object_type="tutor", object_id=joao.pk)}
    assert entries["CPF"].old_value == "529.982.247-25" and entries["CPF"].new_value == ""
    assert entries["telefone"].new_value == "(11) 91111-2222"
    assert Tutor.objects.get(pk=joao.pk).cpf is None
    html = admin_client_.get(reverse("tutor_detail", args=[joao.pk])).content.decode()
    assert "(11) 91111-2222" in html and 'id="audit-table"' in html
    admin_client_.post(reverse("animal_archive", args=[dataset["rex"].pk]))
    entry = AuditEntry.objects.get(object_type="animal", object_id=dataset["rex"].pk, action="archive")
    assert entry.old_value == "Sim" and entry.new_value == "Não" and entry.username == "gestor"


def test_portuguese_and_dates(reception_client, dataset):
    from django.utils import timezone

    html = reception_client.get(reverse("animal_detail", args=[dataset["rex"].pk])).content.decode()
    assert '<html lang="pt-BR">' in html and "Sistema da Clínica" in html
    assert timezone.localtime(dataset["rex"].created_at).strftime("%d/%m/%Y %H:%M") in html
    assert str(timezone.get_current_timezone()) == "America/Sao_Paulo"
    login = reception_client.get(reverse("login"))
    assert login.status_code == 302  # already signed in: redirected to the list


def test_login_page_in_portuguese(client):
    html = client.get(reverse("login")).content.decode()
    assert "Usuário" in html and "Senha" in html and "Entrar" in html


def test_result_count_wording(reception_client, dataset):
    html = reception_client.get(reverse("animal_list")).content.decode()
    assert "3 animais encontrados" in html
    html = reception_client.get(reverse("animal_list"), {"q": "rex"}).content.decode()
    assert "1 animal encontrado" in html
