"""Administração in Chromium, on the local stack: a new account with a one-time
password, the forced password change at its first sign-in, the trail reader
finding the change, no Django admin for Administração, and a deactivation that
ends the person's session."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "Gestora-Nova-Senha-42"


def test_staff_account_lifecycle(local_stack, browser):
    base = local_stack.url.rstrip("/")
    root_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR")
    ana_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="pt-BR")
    root, ana = root_ctx.new_page(), ana_ctx.new_page()
    for p in (root, ana):
        p.set_default_timeout(15_000)
    try:
        # the operator (superuser) creates an Administração account from the app's menu
        sign_in(root, base, local_stack.password)
        root.click("#nav-administracao")
        root.wait_for_url(re.compile(r"/administracao/equipe/$"))
        root.click("#staff-create")
        root.fill("#id_username", "ana.gestora")
        root.fill("#id_first_name", "Ana")
        root.fill("#id_last_name", "Gestora")
        root.check("input[name=role][value='Administração']")
        root.check("input[name=password_mode][value=gerar]")
        root.click("#staff-form button[type=submit]")
        temporary = root.locator("#one-time-password").inner_text().strip()
        assert len(temporary) >= 12

        # her first sign-in: only the password change is open until she picks her own
        ana.goto(f"{base}/entrar/")
        ana.fill("#id_username", "ana.gestora")
        ana.fill("#id_password", temporary)
        ana.click("#login-form button[type=submit]")
        ana.wait_for_url(re.compile(r"/conta/senha/$"))
        assert ana.locator("#forced-change").is_visible()
        ana.goto(f"{base}/tutores/")
        assert ana.url.endswith("/conta/senha/")
        ana.fill("#id_old_password", temporary)
        ana.fill("#id_new_password1", NEW_PASSWORD)
        ana.fill("#id_new_password2", NEW_PASSWORD)
        ana.click("#password-change-form button[type=submit]")
        ana.wait_for_url(re.compile(r"/animais/$"))

        # she reads the trail: the operator created her account, from where, when
        ana.click("#nav-administracao")
        ana.wait_for_url(re.compile(r"/administracao/equipe/$"))
        ana.goto(f"{base}/administracao/auditoria/?pessoa=ADMIN&acao=staff")
        row = ana.locator("#audit-trail tbody tr").first
        text = row.inner_text()
        assert "criada: ana.gestora (Administração)" in text and "admin" in text
        assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)
        ana.goto(f"{base}/administracao/auditoria/?de=31/02/2026")
        assert "Informe uma data válida no formato dd/mm/aaaa." in ana.content()

        # the Django admin is not hers
        ana.goto(f"{base}/admin/")
        assert "/admin/login/" in ana.url

        # deactivated by the operator: her session ends at once
        root.goto(f"{base}/administracao/equipe/")
        root.locator("tr[data-username='ana.gestora'] a", has_text="Desativar").click()
        root.click("#confirm-active")
        root.wait_for_url(re.compile(r"/administracao/equipe/$"))
        assert "Desativada" in root.locator("tr[data-username='ana.gestora']").inner_text()
        ana.goto(f"{base}/animais/")
        assert "/entrar/" in ana.url
    finally:
        root_ctx.close()
        ana_ctx.close()
