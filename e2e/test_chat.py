"""WIBOT in a real browser: an answer streams, survives a reload, can be stopped, and the usage follows."""
import re

from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, log_in, screenshot


def ask(page, text):
    page.get_by_label("Votre message").fill(text)
    page.get_by_label("Votre message").press("Enter")


def test_an_answer_streams_survives_a_reload_and_can_be_stopped(page):
    log_in(page, "e2e-wibot", ADMIN_PASSWORD)
    page.goto("/wibot")
    expect(page.get_by_role("heading", name="Nouvelle conversation")).to_be_visible()
    usage_before = page.locator("#chat-usage").inner_text()

    # Flash: the answer arrives, then is shown as formatted Markdown with its code block.
    page.get_by_label("Mode").select_option("flash")
    ask(page, "Bonjour WIBOT")
    answer = page.locator(".chat-message.from-wibot").last
    expect(answer.locator("strong", has_text="WIBOT")).to_be_visible()
    expect(answer.locator("pre code")).to_contain_text("Get-ADUser -Filter *")
    # The code block is coloured by Debian's highlight.js (served by the app) and its Copy button copies it.
    expect(answer.locator("pre code .hljs-built_in, pre code .hljs-keyword, pre code .hljs-parameter, pre code .hljs-params").first).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.get_by_role("button", name="Copier").click()
    expect(answer.get_by_role("button", name="Copié")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").strip() == "Get-ADUser -Filter *"
    expect(page).to_have_url(re.compile(r"/wibot\?c=[0-9a-f-]{36}$"))
    # The new conversation takes its title from the question and heads the list, without a reload.
    expect(page.get_by_role("heading", name="Bonjour WIBOT")).to_be_visible()
    expect(page.locator(".chat-conversations li.current")).to_contain_text("Bonjour WIBOT")
    expect(page.locator("#chat-usage")).not_to_have_text(usage_before)
    screenshot(page, "wibot-conversation")

    # A long answer: reload in the middle, and it goes on from where it was.
    ask(page, "[lent] un long rapport")
    streaming = page.locator(".chat-message.from-wibot .chat-body.streaming").last
    expect(streaming).to_contain_text("mot5 ")
    page.reload()
    expect(page.locator(".chat-message.from-wibot").last).to_contain_text("mot60", timeout=30_000)
    expect(page.locator(".chat-message.from-wibot .streaming")).to_have_count(0)

    # And one stopped: what was written stays, marked stopped.
    ask(page, "[lent] encore un")
    expect(page.locator(".chat-message.from-wibot .chat-body.streaming").last).to_contain_text("mot3 ")
    page.get_by_role("button", name="Arrêter").click()
    expect(page.locator(".chat-message.from-wibot").last).to_contain_text("Réponse arrêtée")
    expect(page.locator(".chat-message.from-wibot").last).not_to_contain_text("mot60")

    # The conversation is in the list, and a new one starts empty.
    expect(page.locator(".chat-conversations li.current")).to_contain_text("Bonjour WIBOT")
    page.get_by_role("link", name="Nouvelle conversation").click()
    expect(page.locator("#chat-empty")).to_be_visible()
