"""SAFEGUARD in two browsers at once: a workflow's request appears live in both, one technician approves, the card
leaves the other's screen, and the action is carried out once on the demo MCP server."""
import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, BASE_URL, log_in, screenshot

WORKFLOW_TOKEN = os.environ.get("E2E_WORKFLOW_TOKEN", "")
PASSWORD = "un-mot-de-passe-solide"


def api(method, path, body=None, token=None):
    request = urllib.request.Request(BASE_URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


_admin_token = []


def admin_token():
    """One login for the module: logins are limited per account, and the contract run logs in after these tests."""
    if not _admin_token:
        status, body = api("POST", "/api/auth/login", {"username": "e2e-safeguard", "password": ADMIN_PASSWORD})
        assert status == 200, body
        _admin_token.append(body["access_token"])
    return _admin_token[0]


def technician(token, username, level):
    status, body = api("POST", "/api/users", {"username": username, "password": PASSWORD, "accreditation_level": level}, token)
    assert status == 201, body


def request_from_workflow(tool, arguments, title, description, minutes=40):
    status, body = api(
        "POST", "/api/safeguard/requests",
        {
            "tool_name": tool, "arguments": arguments,
            "context": {"ticket_id": 1238, "ticket_title": title, "ticket_description": description, "client_name": "Cabinet Dr Martin",
                        "workflow": "SUPPORT", "confidence": 91},
            "expires_at": (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(),
        },
        WORKFLOW_TOKEN,
    )
    assert status == 201, body
    return body["approval_id"]


def test_a_request_shows_live_in_two_browsers_and_one_approval_runs_it_once(browser, page, unique):
    token = admin_token()
    technician(token, f"astreinte-{unique}", "N3")
    technician(token, f"collegue-{unique}", "N2")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, f"astreinte-{unique}", PASSWORD)
    page.goto("/safeguard")
    expect(page.locator("#live-indicator")).to_have_text("En direct")

    other = browser.new_context(base_url=BASE_URL, locale="fr-FR", viewport={"width": 390, "height": 844})
    colleague = other.new_page()
    colleague.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(colleague, f"collegue-{unique}", PASSWORD)
    colleague.goto("/safeguard")
    expect(colleague.locator("#live-indicator")).to_have_text("En direct")

    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    approval = request_from_workflow(
        "ad_disable_account", {"username": "nadia.benali", "reason": f"Départ {hostile}"},
        f"Départ de Mme Benali {hostile}", f"Dernier jour vendredi. <script>alert(3)</script>",
    )
    card = page.locator(f"#carte-{approval}")
    other_card = colleague.locator(f"#carte-{approval}")
    expect(card).to_be_visible(timeout=3_000)
    expect(other_card).to_be_visible(timeout=3_000)
    # The text from the workflow is shown as text, never run.
    expect(card).to_contain_text("<script>alert(2)</script>")
    expect(card.locator(".countdown")).to_have_text("Expire dans 39 min")
    expect(card.locator(".urgency-word")).to_have_text("Bientôt")
    expect(card).to_contain_text("Nadia Benali")
    screenshot(page, "safeguard-queue")
    screenshot(colleague, "safeguard-queue-phone")

    started = time.monotonic()
    card.get_by_role("button", name="Approuver").click()
    expect(page.locator(".alert-ok")).to_contain_text(f"Demande {approval} approuvée")
    expect(other_card).to_have_count(0, timeout=1_000)
    assert time.monotonic() - started < 3

    deadline = time.monotonic() + 20
    while True:
        status, body = api("GET", f"/api/safeguard/{approval}", token=token)
        if body.get("status") in ("executed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["status"] == "executed", body
    assert body["result"]["disabled"] is True, "applied once: not « déjà désactivé »"
    steps = [step["step"] for step in body["timeline"]]
    assert steps.count("executing") == 1
    status, check = api(
        "POST", "/api/mcp/tools/ad_check_user/call", {"arguments": {"username": "nadia.benali"}, "reason": "Vérification e2e"}, token
    )
    assert status == 200 and check["structured"]["enabled"] is False, check
    page.goto(f"/safeguard/{approval}")
    expect(page.get_by_role("heading", name="Statut : Exécutée")).to_be_visible()
    screenshot(page, "safeguard-detail")
    assert dialogs == [], dialogs
    other.close()


def test_rejecting_asks_for_a_reason_and_the_history_and_figures_show_it(page, unique):
    token = admin_token()
    technician(token, f"rejet-{unique}", "N2")
    approval = request_from_workflow("ad_reset_password", {"username": "ines.roux"}, "Reset MDP - Inès Roux", "Demande par courriel.", minutes=10)
    log_in(page, f"rejet-{unique}", PASSWORD)
    page.goto("/safeguard")
    card = page.locator(f"#carte-{approval}")
    expect(card.locator(".urgency-word")).to_have_text("URGENT")
    card.get_by_text("Rejeter…").click()
    card.get_by_label("Motif du rejet").fill("Demande non confirmée par téléphone")
    card.get_by_role("button", name="Confirmer le rejet").click()
    expect(page.locator(".alert-ok")).to_contain_text(f"Demande {approval} rejetée")
    page.goto("/safeguard/historique?status=rejected")
    expect(page.get_by_role("link", name=approval)).to_be_visible()
    screenshot(page, "safeguard-history")
    page.goto("/safeguard/statistiques")
    expect(page.get_by_text("Rejetées")).to_be_visible()
    screenshot(page, "safeguard-stats")
