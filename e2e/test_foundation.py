"""A technician's and an administrator's first steps: log in, manage users, read the audit log, log out."""
import re

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, ADMIN_USER, log_in, screenshot


def test_wrong_password_shows_the_french_error(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    log_in(page, "personne-inconnue", "mauvais-mot-de-passe")
    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    # The stylesheet and the script really load (a 404 there leaves a bare, unstyled page). The alert is in the DOM
    # before the new page's stylesheet is read: wait for the page's load first.
    page.wait_for_load_state("load")
    assert page.evaluate("document.styleSheets.length > 0 && document.styleSheets[0].cssRules.length > 50")
    expect(page.get_by_label("Identifiant")).to_have_value("personne-inconnue")
    screenshot(page, "connexion-erreur")


def test_admin_creates_a_user_sees_its_audit_row_and_logs_out(page, unique):
    log_in(page, ADMIN_USER, ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name=f"Bonjour {ADMIN_USER}")).to_be_visible()
    expect(page.locator(".tile", has_text="UTILISATEURS").locator("a")).to_be_visible()
    screenshot(page, "accueil")

    page.get_by_role("link", name="Utilisateurs", exact=True).first.click()
    expect(page.get_by_role("heading", name="Utilisateurs")).to_be_visible()
    screenshot(page, "utilisateurs")

    page.get_by_role("link", name="+ Nouvel utilisateur").click()
    username = f"tech-{unique}"
    # The rules are shown before anything is typed.
    expect(page.locator("#username-hint")).to_contain_text("3 à 50 caractères")
    expect(page.locator("#password-hint")).to_contain_text("Au moins 10 caractères")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Niveau d'accréditation").select_option("N2")
    page.get_by_label("Mot de passe", exact=True).fill("court")
    page.get_by_label("Mot de passe, une seconde fois").fill("court")
    page.get_by_role("button", name="Créer l'utilisateur").click()
    # The validation error is shown in French beside the field, and nothing typed is lost but the passwords.
    expect(page.locator("#password-error")).to_contain_text("au moins 10 caractères")
    expect(page.get_by_label("Identifiant")).to_have_value(username)
    expect(page.get_by_label("Niveau d'accréditation")).to_have_value("N2")
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_value("")
    screenshot(page, "utilisateur-erreur")

    page.get_by_label("Mot de passe", exact=True).fill("un-mot-de-passe-solide")
    page.get_by_label("Mot de passe, une seconde fois").fill("un-mot-de-passe-solide-mais-autre")
    page.get_by_role("button", name="Créer l'utilisateur").click()
    expect(page.locator("#password_confirm-error")).to_contain_text("ne sont pas identiques")
    page.get_by_label("Mot de passe", exact=True).fill("un-mot-de-passe-solide")
    page.get_by_label("Mot de passe, une seconde fois").fill("un-mot-de-passe-solide")
    page.get_by_role("button", name="Créer l'utilisateur").click()
    expect(page.locator("p[role=status]")).to_have_text("Utilisateur créé.")
    screenshot(page, "utilisateur-fiche")

    page.get_by_role("link", name="Audit").click()
    row = page.locator("#audit-table tbody tr", has_text="Création d'utilisateur").filter(has_text=username)
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(ADMIN_USER)
    screenshot(page, "audit")

    page.locator("details.user-menu summary").click()
    page.get_by_role("button", name="Déconnexion").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    page.goto("/utilisateurs")
    expect(page).to_have_url(re.compile(r"/connexion\?suivant="))


def test_a_technician_sees_greyed_tiles_and_cannot_open_users(page, unique):
    # Created by the admin through the web form, so the whole flow stays in the browser.
    log_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.goto("/utilisateurs/nouveau")
    username = f"n1-{unique}"
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Niveau d'accréditation").select_option("N1")
    page.get_by_label("Mot de passe", exact=True).fill("un-mot-de-passe-solide")
    page.get_by_label("Mot de passe, une seconde fois").fill("un-mot-de-passe-solide")
    page.get_by_role("button", name="Créer l'utilisateur").click()
    expect(page.locator("p[role=status]")).to_have_text("Utilisateur créé.")
    page.context.clear_cookies()

    log_in(page, username, "un-mot-de-passe-solide")
    users_tile = page.locator(".tile", has_text="UTILISATEURS")
    expect(users_tile).to_have_class(re.compile("tile-disabled"))
    expect(users_tile).to_contain_text("Réservé au niveau N4")
    page.goto("/utilisateurs")
    expect(page.get_by_role("heading", name="Accès refusé")).to_be_visible()

    page.goto("/compte")
    expect(page.get_by_role("heading", name="Mon compte")).to_be_visible()
    screenshot(page, "compte")
    page.get_by_label("Mot de passe actuel").fill("pas-le-bon-mot-de-passe")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("un-nouveau-mot-de-passe")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("un-nouveau-mot-de-passe")
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.locator("#current_password-error")).to_have_text("Le mot de passe actuel est incorrect.")
