"""SUPERVISION: an Observium alert reaches the open Overview without a reload; the five dashboards at desktop and
phone widths."""
import json
import os
import time
import urllib.request

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, BASE_URL, log_in, screenshot

OBSERVIUM_TOKEN = os.environ.get("E2E_OBSERVIUM_TOKEN", "")
# An administrator (N3) of these tests' own: logins are limited per account, and other tests sign in as the admin.
SUPERVISOR = os.environ.get("E2E_SUPERVISION_USER", "e2e-supervision")


def post_observium_alert(alert_id, device, client):
    """What Observium's "Webhook JSON" transport sends: a flat object of strings, its token in Authorization."""
    now = int(time.time())
    body = {
        "ALERT_STATE": "ALERT", "ALERT_STATUS": "0", "ALERT_SEVERITY": "Critical", "ALERT_ID": alert_id,
        "ALERT_UNIXTIME": str(now), "ALERT_TIMESTAMP_RFC3339": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
        "ALERT_MESSAGE": "Équipement injoignable (ping)", "CONDITIONS": "device_status equals 0<br />", "METRICS": "device_status = 0",
        "ENTITY_NAME": device, "ENTITY_TYPE": "device", "DEVICE_HOSTNAME": device, "DEVICE_LOCATION": client,
        "TITLE": f"ALERT: [{device}] Équipement injoignable",
    }
    request = urllib.request.Request(
        f"{BASE_URL}/api/workflows/webhook/observium", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": OBSERVIUM_TOKEN},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201, response.read()


def test_an_observium_alert_updates_the_open_overview_without_a_reload(page, unique):
    log_in(page, SUPERVISOR, ADMIN_PASSWORD)
    page.goto("/supervision")
    expect(page.locator("#live-indicator")).to_have_text("En direct")
    alerts = page.locator("#kpi-alerts .kpi-value")
    before = int(alerts.inner_text().replace("\u202f", ""))
    page.evaluate("window.__notReloaded = true")

    device = f"SWITCH-E2E-{unique.upper()}"
    post_observium_alert(f"e2e-{unique}", device, "EHPAD Les Jardins")

    expect(page.locator("#activity li").first).to_contain_text(device, timeout=10_000)
    expect(alerts).to_have_text(str(before + 1))
    assert page.evaluate("window.__notReloaded") is True, "the page was updated in place, not reloaded"
    # The feed's line leads to the alert's timeline, which starts with Observium's notification.
    page.locator("#activity li").first.get_by_role("link").click()
    expect(page.locator("#thread li").first).to_contain_text("Alerte Observium")
    screenshot(page, "supervision-suivi")


def test_the_five_dashboards_render_at_desktop_and_phone_widths(page):
    log_in(page, SUPERVISOR, ADMIN_PASSWORD)
    for path, heading in [
        ("/supervision", "Vue d'ensemble"), ("/supervision/support", "SUPPORT"), ("/supervision/sentinel", "SENTINEL"),
        ("/supervision/enrichisseur", "ENRICHISSEUR"), ("/supervision/safeguard", "SAFEGUARD"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        expect(page.locator("nav.tabs [aria-current=page]")).to_have_text(heading)
        screenshot(page, path.strip("/").replace("/", "-"))
    # A preset period applies as soon as it is chosen.
    page.goto("/supervision/support")
    page.get_by_label("Période", exact=True).select_option("7d")
    expect(page).to_have_url(f"{BASE_URL}/supervision/support?period=7d&from=&to=")
    expect(page.locator(".period-label")).to_contain_text("7 derniers jours")
