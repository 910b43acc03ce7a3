"""The audit trail reader (registry.views_audit): Administração only; filters by
person, record, action and dates (dd/mm/aaaa, days in America/Sao_Paulo);
newest first, paginated; who, when, from where, what; redacted entries show
"[anonimizado]"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from registry import views_audit
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db
A = AuditEntry.Action


def at(y, m, d, hh, mm) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def add(when, action=A.UPDATE, object_type="tutor", object_id=1, username="recepcao", **kw) -> AuditEntry:
    return AuditEntry.objects.create(timestamp=when, action=action, object_type=object_type, object_id=object_id,
                                     username=username, **kw)


def ids(response) -> list[int]:
    return [int(x) for x in re.findall(r'data-audit-id="(\d+)"', response.content.decode())]


def test_only_administration_reads_the_whole_trail(admin_client_, reception_client, vet_client, make_tutor):
    tutor = make_tutor()
    assert admin_client_.get(reverse("audit_list")).status_code == 200
    for c in (reception_client, vet_client):
        assert c.get(reverse("audit_list")).status_code == 403
        # they keep the short history on the record's page, without the link
        page = c.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
        assert 'id="audit"' in page and 'id="audit-full-link"' not in page
    page = admin_client_.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    link = f'{reverse("audit_list")}?tipo=tutor&amp;registro={tutor.pk}'
    assert f'href="{link}"' in page


def test_row_shows_who_when_where_and_what(admin_client_):
    e = add(at(2026, 3, 10, 2, 30), field="telefone", old_value="(11) 98765-4321", new_value="(11) 91234-5678",
            ip_address="203.0.113.9")
    html = admin_client_.get(reverse("audit_list")).content.decode()
    row = html[html.index(f'data-audit-id="{e.pk}"'):]
    row = row[:row.index("</tr>")]
    # 02:30 UTC on 10/03 is 23:30 on 09/03 in São Paulo
    assert "09/03/2026 23:30" in row and "recepcao" in row and "203.0.113.9" in row and "Alteração" in row
    assert "<strong>telefone</strong>: (11) 98765-4321 → (11) 91234-5678" in row
    assert f'href="{reverse("tutor_detail", args=[1])}"' in row


def test_a_redacted_entry_shows_the_marker_only(admin_client_):
    e = add(at(2026, 3, 10, 12, 0), field="nome", old_value="Joana Prado", new_value="Joana P. Lima")
    AuditEntry.objects.filter(pk=e.pk).update(redacted=True, old_value="", new_value="", field="")
    html = admin_client_.get(reverse("audit_list")).content.decode()
    assert "[anonimizado]" in html and "Joana" not in html


def test_filters(admin_client_):
    a = add(at(2026, 3, 1, 15, 0), username="recepcao", object_type="tutor", object_id=5)
    b = add(at(2026, 3, 2, 15, 0), username="vet", object_type="animal", object_id=5, action=A.VIEW)
    c = add(at(2026, 3, 3, 2, 0), username="Chefe", object_type="user", object_id=3, action=A.STAFF)  # 02/03 local
    d = add(at(2026, 3, 4, 15, 0), username="chefe", object_type="export", object_id=0, action=A.EXPORT)
    url = reverse("audit_list")
    march = {"ate": "31/03/2026"}  # (the sign-in of the test client is today)
    assert ids(admin_client_.get(url, march)) == [d.pk, c.pk, b.pk, a.pk]  # newest first
    assert ids(admin_client_.get(url, {"pessoa": "chefe"})) == [d.pk, c.pk]  # case-insensitive
    assert ids(admin_client_.get(url, {"tipo": "tutor", "registro": "5"})) == [a.pk]
    assert ids(admin_client_.get(url, {"tipo": "animal"})) == [b.pk]
    assert ids(admin_client_.get(url, {"acao": A.EXPORT})) == [d.pk]
    assert ids(admin_client_.get(url, {"de": "02/03/2026", "ate": "02/03/2026"})) == [c.pk, b.pk]
    assert ids(admin_client_.get(url, {"de": "03/03/2026", **march})) == [d.pk]
    assert ids(admin_client_.get(url, {"ate": "01/03/2026", "pessoa": "recepcao"})) == [a.pk]


@pytest.mark.parametrize(("query", "message"), [
    ({"de": "2026-03-01"}, "Informe uma data válida no formato dd/mm/aaaa."),
    ({"ate": "31/02/2026"}, "Informe uma data válida no formato dd/mm/aaaa."),
    ({"de": "05/03/2026", "ate": "01/03/2026"}, "A data final é anterior à inicial."),
    ({"registro": "5"}, "Escolha o tipo do registro."),
    ({"registro": "abc", "tipo": "tutor"}, "Informe o número do registro (só dígitos)."),
    ({"acao": "apagar"}, "Faça uma escolha válida"),
])
def test_a_bad_filter_is_a_message_next_to_the_field_not_the_whole_trail(admin_client_, query, message):
    add(at(2026, 3, 1, 15, 0))
    response = admin_client_.get(reverse("audit_list"), query)
    assert response.status_code == 400
    assert message in response.content.decode() and ids(response) == []


def test_pages_of_fifty(admin_client_, monkeypatch):
    monkeypatch.setattr(views_audit, "PER_PAGE", 3)
    entries = [add(at(2026, 3, day, 12, 0), username="vet") for day in range(1, 8)]
    newest = [e.pk for e in reversed(entries)]
    url = reverse("audit_list")
    assert ids(admin_client_.get(url, {"pessoa": "vet"})) == newest[:3]
    page3 = admin_client_.get(url, {"pessoa": "vet", "page": "3"})
    assert ids(page3) == newest[6:]
    assert "pessoa=vet&amp;page=2" in page3.content.decode()  # the filter travels with the pages
