"""The Assistant WIDIP in real browsers: the PRD's switch question shows its tool steps, its answer and its sources;
a password reset waits for a colleague's approval, given from a second browser, and its outcome arrives in the chat.
Named to run after the MCP page's test, whose call counts its tool calls would change."""
from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, BASE_URL, log_in, screenshot


def ask(page, text):
    page.get_by_label("Votre message").fill(text)
    page.get_by_label("Votre message").press("Enter")


def test_the_switch_question_then_an_action_approved_from_another_browser(browser, page):
    log_in(page, "e2e-wibot", ADMIN_PASSWORD)
    page.goto("/wibot?mode=assistant")
    page.get_by_label("Mode").select_option("assistant")

    ask(page, "Quel est l'état du switch de la Clinique St-Jean ?")
    answer = page.locator(".chat-message.from-wibot").last
    expect(answer.locator(".chat-body")).to_contain_text("SWITCH-CLIN-STJEAN de la Clinique Saint-Jean est UP", timeout=20_000)
    # Once saved: each tool call is a step that opens on its arguments and result.
    steps = answer.locator(".tool-step")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("glpi_search_client")
    expect(steps.nth(1)).to_contain_text("observium_get_device_status")
    expect(steps.nth(2)).to_contain_text("memory_search_similar_cases")
    expect(steps.nth(1)).to_contain_text("réussi")
    steps.nth(1).locator("summary").click()
    expect(steps.nth(1)).to_contain_text('"uptime_days"')
    # The knowledge base's sources, each with the way to report it out of date.
    sources = answer.locator(".chat-sources")
    expect(sources).to_contain_text("Ticket résolu")
    expect(sources).to_contain_text("ticket CAS-2024-0312")
    first = sources.locator("li").first
    first.get_by_role("button", name="Signaler comme obsolète").click()
    expect(first).to_contain_text("Signalée comme obsolète")
    screenshot(page, "wibot-assistant")

    # An L3 action: never run by the chat, it waits for a colleague.
    ask(page, "Réinitialise le mot de passe de jean.dupont")
    answer = page.locator(".chat-message.from-wibot").last
    waiting = answer.locator("[data-awaiting-approval]")
    expect(waiting).to_have_count(1, timeout=20_000)
    expect(waiting).to_contain_text("en attente d'approbation")
    approval = waiting.get_attribute("data-awaiting-approval")

    other = browser.new_context(base_url=BASE_URL, locale="fr-FR", viewport={"width": 390, "height": 844})
    colleague = other.new_page()
    log_in(colleague, "e2e-safeguard", ADMIN_PASSWORD)
    colleague.goto("/safeguard")
    card = colleague.locator(f"#carte-{approval}")
    expect(card).to_contain_text("ad_reset_password")
    expect(card).to_contain_text("Assistant WIDIP")
    card.get_by_role("button", name="Approuver").click()
    expect(colleague.locator(".alert-ok")).to_contain_text(f"Demande {approval} approuvée")
    other.close()

    # The outcome arrives in the open conversation, without a reload.
    outcome = page.locator(".chat-message.from-safeguard").last
    expect(outcome).to_contain_text("approuvée par e2e-safeguard et exécutée", timeout=20_000)
    expect(outcome).to_contain_text(approval)
    expect(answer.locator(".tool-step").first.locator(".status")).to_have_text("approuvée et exécutée")
    screenshot(page, "wibot-assistant-outcome")
