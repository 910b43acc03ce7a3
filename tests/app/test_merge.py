"""Merging two tutors or two animals (Administração): compare, pick field by
field, review the plan, confirm; nothing changes before the confirmation; a
stale comparison is refused; both histories kept; the search index follows."""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry import search
from registry.models import Animal, AuditEntry, MergeRecord, Photo, Tutor

from .conftest import make_chip, token_for
from .test_integrity import animal_post

pytestmark = pytest.mark.django_db


def compare_page(client, kind, a, b):
    response = client.get(reverse(f"{kind}_merge", args=[a.pk]), {"com": b.pk})
    assert response.status_code == 200
    return response


def post_merge(client, kind, a, b, token, step, survivor="a", **picks):
    data = {"com": b.pk, "token": token, "step": step, "survivor": survivor}
    data.update({f"f_{k}": v for k, v in picks.items()})
    return client.post(reverse(f"{kind}_merge", args=[a.pk]), data)


def picks_from(response) -> dict:
    """The default choice of every differing field, as the page pre-selects it."""
    return {row.name: row.picked for row in response.context["differing"]}


@pytest.fixture
def two_tutors(make_tutor, make_animal):
    jose = make_tutor(name="José da Conceição", phone="11987650001", email="", city="São Paulo", uf="SP")
    dup = make_tutor(name="Jose Conceicao", phone="11987650002", email="jose@exemplo.com.br", cpf=None,
                     notes="Prefere contato por WhatsApp")
    thor = make_animal(name="Thor", tutor=jose)
    pipoca = make_animal(name="Pipoca", tutor=dup, species="cat")
    bidu = make_animal(name="Bidu Xereta", tutor=dup)
    return jose, dup, thor, pipoca, bidu


def test_tutor_merge_compare_review_confirm(admin_client_, two_tutors):
    jose, dup, thor, pipoca, bidu = two_tutors
    page = compare_page(admin_client_, "tutor", jose, dup)
    html = page.content.decode()
    assert "José da Conceição" in html and "Jose Conceicao" in html
    differing = {row.name for row in page.context["differing"]}
    assert {"name", "phone", "email", "cpf", "notes", "city", "uf"} <= differing
    token = page.context["token"]

    # review: a plan that says what will happen; nothing changed yet
    review = post_merge(admin_client_, "tutor", jose, dup, token, "review", survivor="a",
                        name="a", phone="b", email="b", cpf="a", notes="b", city="a", uf="a")
    assert review.status_code == 200
    text = review.content.decode()
    assert "Nada foi alterado ainda" in text
    assert f"O cadastro nº <strong>{jose.pk}</strong>" in text and "permanece" in text
    assert f"2 animais do cadastro nº {dup.pk} passam para o cadastro nº {jose.pk}" in text
    assert "Bidu Xereta, Pipoca" in text
    assert "é removido" in text
    assert "(11) 98765-0001" in text  # the phone let go is listed
    assert Tutor.objects.filter(pk=dup.pk).exists() and Animal.objects.get(pk=pipoca.pk).tutor_id == dup.pk

    done = post_merge(admin_client_, "tutor", jose, dup, token, "confirm", survivor="a",
                      name="a", phone="b", email="b", cpf="a", notes="b", city="a", uf="a")
    assert done.status_code == 302 and done["Location"] == reverse("tutor_detail", args=[jose.pk])
    assert not Tutor.objects.filter(pk=dup.pk).exists()
    jose.refresh_from_db()
    assert (jose.name, jose.phone, jose.email, jose.notes) == (
        "José da Conceição", "11987650002", "jose@exemplo.com.br", "Prefere contato por WhatsApp")
    assert set(jose.animals.values_list("name", flat=True)) == {"Thor", "Pipoca", "Bidu Xereta"}

    record = MergeRecord.objects.get(kind="tutor", absorbed_id=dup.pk)
    assert record.survivor_id == jose.pk and record.absorbed_snapshot["name"] == "Jose Conceicao"
    assert sorted(record.moved["animal"]) == sorted([pipoca.pk, bidu.pk])
    # MERGE entries on both records and on each moved animal
    assert AuditEntry.objects.filter(object_type="tutor", object_id=dup.pk, action="merge").exists()
    assert AuditEntry.objects.filter(object_type="tutor", object_id=jose.pk, action="merge",
                                     field="telefone").exists()
    assert AuditEntry.objects.filter(object_type="animal", object_id=pipoca.pk, action="merge",
                                     old_value="Jose Conceicao", new_value="José da Conceição").exists()
    # the values let go stay in the history (the absorbed record's, shown on the survivor's page)
    assert AuditEntry.objects.filter(object_type="tutor", object_id=dup.pk, action="merge", field="Nome",
                                     old_value="Jose Conceicao").exists()
    assert not AuditEntry.objects.filter(object_type="tutor", object_id=dup.pk, action="merge",
                                         field="Telefone").exists()  # its phone was kept, not let go


def test_survivor_history_shows_the_absorbed_records_past(admin_client_, reception_client, two_tutors):
    jose, dup, *_ = two_tutors
    AuditEntry.objects.create(object_type="tutor", object_id=dup.pk, action="create", new_value="antes da mesclagem")
    page = compare_page(admin_client_, "tutor", jose, dup)
    post_merge(admin_client_, "tutor", jose, dup, page.context["token"], "confirm", **picks_from(page))
    detail = reception_client.get(reverse("tutor_detail", args=[jose.pk]))
    entries = detail.context["audit"]
    past = [e for e in entries if e.new_value == "antes da mesclagem"]
    assert past and past[0].merged_from == dup.pk
    assert f"cadastro nº {dup.pk}, mesclado" in detail.content.decode()
    # an old link to the absorbed record leads to the survivor
    old = reception_client.get(reverse("tutor_detail", args=[dup.pk]))
    assert old.status_code == 302 and old["Location"] == reverse("tutor_detail", args=[jose.pk])
    assert reception_client.get(reverse("tutor_detail", args=[987654])).status_code == 404


def test_search_index_follows_the_merge(admin_client_, two_tutors):
    jose, dup, thor, pipoca, bidu = two_tutors
    assert search.search_tutors("Bidu Xereta").ids == [dup.pk]
    page = compare_page(admin_client_, "tutor", jose, dup)
    post_merge(admin_client_, "tutor", jose, dup, page.context["token"], "confirm", **picks_from(page))
    # the survivor is found by the absorbed record's animals; the absorbed is found no more
    assert search.search_tutors("Bidu Xereta").ids == [jose.pk]
    assert search.search_tutors("Pipoca").ids == [jose.pk]
    assert dup.pk not in search.search_tutors("Conceicao").ids
    # the moved animals are found by their new tutor's identifiers
    assert set(search.search_animals("José da Conceição").ids) == {thor.pk, pipoca.pk, bidu.pk}


def test_a_stale_comparison_is_refused(admin_client_, reception_client, two_tutors):
    jose, dup, *_ = two_tutors
    page = compare_page(admin_client_, "tutor", jose, dup)
    token, picks = page.context["token"], picks_from(page)
    # someone edits the absorbed record after the comparison was opened
    from .test_integrity import tutor_post

    saved = reception_client.post(reverse("tutor_edit", args=[dup.pk]),
                                  tutor_post(dup, notes="Novo telefone anotado", edit_token=token_for(dup)))
    assert saved.status_code == 302
    for step in ("review", "confirm"):
        refused = post_merge(admin_client_, "tutor", jose, dup, token, step, **picks)
        assert refused.status_code == 409
        assert "foi alterado depois que esta comparação foi aberta" in refused.content.decode()
        assert refused.context["token"] != token  # the fresh comparison can go on
    assert Tutor.objects.filter(pk=dup.pk).exists() and not MergeRecord.objects.exists()


def test_a_forged_token_or_missing_choice_changes_nothing(admin_client_, two_tutors):
    jose, dup, *_ = two_tutors
    page = compare_page(admin_client_, "tutor", jose, dup)
    assert post_merge(admin_client_, "tutor", jose, dup, "forjado", "confirm", **picks_from(page)).status_code == 400
    picks = picks_from(page)
    del picks["phone"]
    missing = post_merge(admin_client_, "tutor", jose, dup, page.context["token"], "confirm", **picks)
    assert missing.status_code == 400 and "Escolha o valor de “Telefone” que fica." in missing.content.decode()
    # a token of another pair
    other = compare_page(admin_client_, "tutor", dup, jose).context["token"]
    assert post_merge(admin_client_, "tutor", jose, dup, other, "confirm", **picks_from(page)).status_code == 400
    assert Tutor.objects.filter(pk=dup.pk).exists() and not MergeRecord.objects.exists()


def test_merging_edits_moved_animals_version(admin_client_, vet_client, two_tutors):
    """A form opened on a moved animal before the merge is stale afterwards (409), not saved."""
    jose, dup, thor, pipoca, bidu = two_tutors
    token = token_for(pipoca)
    page = compare_page(admin_client_, "tutor", jose, dup)
    post_merge(admin_client_, "tutor", jose, dup, page.context["token"], "confirm", **picks_from(page))
    response = vet_client.post(reverse("animal_edit", args=[pipoca.pk]),
                               animal_post(pipoca, notes="x", edit_token=token))
    assert response.status_code == 409
    assert Animal.objects.get(pk=pipoca.pk).tutor_id == jose.pk


def test_only_administracao_sees_the_action(admin_client_, reception_client, two_tutors):
    jose, dup, thor, *_ = two_tutors
    assert 'id="merge-tutor"' in admin_client_.get(reverse("tutor_detail", args=[jose.pk])).content.decode()
    assert 'id="merge-tutor"' not in reception_client.get(reverse("tutor_detail", args=[jose.pk])).content.decode()
    assert 'id="merge-animal"' not in reception_client.get(reverse("animal_detail", args=[thor.pk])).content.decode()
    assert reception_client.get(reverse("tutor_merge", args=[jose.pk]), {"com": dup.pk}).status_code == 403


def test_picker_finds_the_other_record(admin_client_, two_tutors):
    jose, dup, *_ = two_tutors
    page = admin_client_.get(reverse("tutor_merge", args=[jose.pk]), {"q": "Conceição"})
    assert [t.pk for t in page.context["results"]] == [dup.pk]  # never the record itself
    assert f'href="?com={dup.pk}"' in page.content.decode()
    assert admin_client_.get(reverse("tutor_merge", args=[jose.pk]), {"com": jose.pk}).status_code == 404


# --- animals ----------------------------------------------------------------------------

def _photo(animal, name, primary=False):
    return Photo.objects.create(animal=animal, key=f"uploads/x/{name}", original_name=name,
                                content_type="image/jpeg", size=10, status="ok", is_primary=primary)


def test_animal_merge_moves_photos_keeps_one_primary_and_takes_the_microchip(admin_client_, make_tutor, make_animal):
    tutor = make_tutor()
    chip = make_chip()
    keep = make_animal(name="Mel", tutor=tutor, species="cat", breed="")
    dup = make_animal(name="Mel", tutor=tutor, species="cat", breed="Siamês", microchip=chip)
    _photo(keep, "a.jpg", primary=True)
    _photo(dup, "b.jpg", primary=True)
    _photo(dup, "c.jpg")
    page = compare_page(admin_client_, "animal", keep, dup)
    picks = picks_from(page)
    assert picks["microchip"] == "b" and picks["breed"] == "b"  # an empty value defaults to the other's
    review = post_merge(admin_client_, "animal", keep, dup, page.context["token"], "review", **picks)
    text = review.content.decode()
    assert f"2 fotos do cadastro nº {dup.pk} passam para o cadastro nº {keep.pk}" in text
    assert "A foto principal de Mel continua a principal." in text
    done = post_merge(admin_client_, "animal", keep, dup, page.context["token"], "confirm", **picks)
    assert done.status_code == 302
    keep.refresh_from_db()
    assert keep.microchip == chip and keep.breed == "Siamês"
    assert not Animal.objects.filter(pk=dup.pk).exists()
    photos = list(keep.photos.order_by("original_name").values_list("original_name", "is_primary"))
    assert photos == [("a.jpg", True), ("b.jpg", False), ("c.jpg", False)]
    assert search.search_animals(chip).ids == [keep.pk]
    assert AuditEntry.objects.filter(object_type="animal", object_id=keep.pk, action="merge",
                                     field="microchip", new_value=chip).exists()


def test_animal_merge_without_a_primary_takes_the_absorbed_one(admin_client_, make_animal):
    keep = make_animal(name="Rex")
    dup = make_animal(name="Rex", tutor=keep.tutor)
    _photo(dup, "b.jpg", primary=True)
    page = compare_page(admin_client_, "animal", keep, dup)
    post_merge(admin_client_, "animal", keep, dup, page.context["token"], "confirm", **picks_from(page))
    assert list(keep.photos.values_list("original_name", "is_primary")) == [("b.jpg", True)]


def test_animal_merge_refuses_an_impossible_combination(admin_client_, make_animal):
    import datetime

    keep = make_animal(name="Rex", birth_date=datetime.date(2020, 1, 1))
    dup = make_animal(name="Rex", tutor=keep.tutor, birth_date=datetime.date(2010, 1, 1), deceased=True,
                      deceased_on=datetime.date(2015, 1, 1))
    page = compare_page(admin_client_, "animal", keep, dup)
    response = post_merge(admin_client_, "animal", keep, dup, page.context["token"], "review",
                          birth_date="a", deceased="b")
    assert response.status_code == 400
    assert "anterior à data de nascimento" in response.content.decode()


def test_the_absorbed_animal_is_the_survivor_when_chosen(admin_client_, make_animal):
    a = make_animal(name="Bob")
    b = make_animal(name="Bobby", tutor=a.tutor)
    page = compare_page(admin_client_, "animal", a, b)
    done = post_merge(admin_client_, "animal", a, b, page.context["token"], "confirm", survivor="b", name="a")
    assert done["Location"] == reverse("animal_detail", args=[b.pk])
    assert not Animal.objects.filter(pk=a.pk).exists()
    assert Animal.objects.get(pk=b.pk).name == "Bob"


def test_perform_rechecks_the_versions_under_the_lock(admin_user, two_tutors):
    """The race between the page's check and the merge itself: perform() locks
    both rows and refuses when either changed since the comparison."""
    from registry import merge

    jose, dup, *_ = two_tutors
    seen = merge.read_token(merge.TUTOR, merge.token(merge.TUTOR, jose, dup), jose.pk, dup.pk)
    plan = merge.build_plan(merge.TUTOR, jose, dup, merge.A, {})
    Tutor.objects.get(pk=jose.pk).save()  # someone saves the survivor meanwhile (new version)
    with pytest.raises(merge.Stale):
        merge.perform(plan, seen, admin_user)
    assert Tutor.objects.filter(pk=dup.pk).exists() and not MergeRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="merge").exists()


def test_an_edit_form_open_on_the_absorbed_record_leads_to_the_survivor(admin_client_, reception_client,
                                                                         two_tutors):
    jose, dup, *_ = two_tutors
    from .test_integrity import tutor_post

    token = token_for(dup)
    page = compare_page(admin_client_, "tutor", jose, dup)
    post_merge(admin_client_, "tutor", jose, dup, page.context["token"], "confirm", **picks_from(page))
    late = reception_client.post(reverse("tutor_edit", args=[dup.pk]), tutor_post(dup, notes="x", edit_token=token),
                                 follow=True)
    assert late.redirect_chain[-1][0] == reverse("tutor_detail", args=[jose.pk])
    assert "foi mesclado a este enquanto você o editava" in late.content.decode()
    assert Tutor.objects.get(pk=jose.pk).notes != "x"
    opened = reception_client.get(reverse("tutor_edit", args=[dup.pk]))
    assert opened["Location"] == reverse("tutor_edit", args=[jose.pk])
