"""The live audit viewer: an administrator sees other people's actions appear without reloading."""
import time

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, ADMIN_USER, BASE_URL, log_in, screenshot


def test_a_login_elsewhere_appears_in_the_admins_audit_viewer_within_a_second(browser, page, unique):
    # The admin creates a technician, then watches the audit viewer.
    log_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto("/utilisateurs/nouveau")
    username = f"live-{unique}"
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill("un-mot-de-passe-solide")
    page.get_by_label("Mot de passe, une seconde fois").fill("un-mot-de-passe-solide")
    page.get_by_role("button", name="Créer l'utilisateur").click()
    expect(page.locator("p[role=status]")).to_have_text("Utilisateur créé.")
    page.goto("/audit")
    expect(page.locator("#live-indicator")).to_have_text("En direct")
    rows_before = page.locator("#audit-table tbody tr").count()

    # Meanwhile, in another browser (its own cookies), the technician logs in.
    other = browser.new_context(base_url=BASE_URL, locale="fr-FR")
    technician = other.new_page()
    started = time.monotonic()
    log_in(technician, username, "un-mot-de-passe-solide")
    expect(technician.get_by_role("heading", name=f"Bonjour {username}")).to_be_visible()

    fresh = page.locator("#audit-table tbody tr").first
    expect(fresh).to_contain_text("Connexion", timeout=1_000)
    expect(fresh).to_contain_text(username)
    assert time.monotonic() - started < 3, "the row arrived while the technician was still landing on the home page"
    assert page.locator("#audit-table tbody tr").count() == rows_before + 1
    screenshot(page, "audit-live")
    other.close()
