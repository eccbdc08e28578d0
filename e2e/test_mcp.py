"""The demo MCP server seen by the official Python MCP client (an independent implementation of the protocol), and
the "Outils MCP" page in a real browser."""
import asyncio
import concurrent.futures
import json
import os

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from conftest import ADMIN_PASSWORD, ADMIN_USER, BASE_URL, log_in, screenshot

MCP_URL = os.environ.get("E2E_MCP_URL", "http://127.0.0.1:3001/mcp")

EXPECTED_TOOLS = {
    "observium_get_device_status", "observium_get_device_metrics", "glpi_get_ticket_details", "glpi_search_client",
    "memory_search_similar_cases", "ad_check_user", "ad_reset_password", "glpi_close_ticket", "ad_disable_account",
    "ad_copy_groups_from",
}


def with_session(body):
    """Runs `body(session)` on an event loop of its own thread: Playwright's sync API keeps one running in this one."""
    async def run():
        async with streamable_http_client(MCP_URL) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def test_the_official_python_client_lists_and_calls_the_demo_tools():
    async def scenario(session):
        tools = (await session.list_tools()).tools
        assert {tool.name for tool in tools} == EXPECTED_TOOLS
        for tool in tools:
            assert tool.description, tool.name
            assert tool.input_schema["type"] == "object", tool.name
        by_name = {tool.name: tool for tool in tools}
        assert by_name["ad_disable_account"].annotations.destructive_hint is True
        assert by_name["glpi_search_client"].annotations.read_only_hint is True

        found = await session.call_tool("glpi_search_client", {"query": "Clinique St-Jean"})
        assert found.is_error is False
        first = json.loads(found.content[0].text)["clients"][0]
        assert first["name"] == "Clinique Saint-Jean" and first["entity_id"] == 42

        status = await session.call_tool("observium_get_device_status", {"hostname": "SWITCH-CLIN-STJEAN"})
        device = json.loads(status.content[0].text)
        assert (device["status"], device["uptime_days"], device["ports"]) == ("UP", 45, {"total": 24, "up": 24})

        missing = await session.call_tool("observium_get_device_status", {})
        assert missing.is_error is True
        assert "Argument manquant" in missing.content[0].text

        try:
            await session.call_tool("outil_inexistant", {})
            raise AssertionError("an unknown tool must be refused")
        except Exception as error:  # the SDK raises its McpError for a JSON-RPC error
            assert "Outil inconnu" in str(error)

    with_session(scenario)


def test_the_tools_page_shows_the_server_and_each_tool_with_its_level(page):
    log_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.wait_for_url("**/")
    # Two calls through the platform's API with the page's own session, so that the page has figures to show.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for hostname in ("SWITCH-CLIN-STJEAN", "INEXISTANT"):
        answer = page.request.post(
            "/api/mcp/tools/observium_get_device_status/call", headers={"X-CSRF-Token": csrf, "Origin": BASE_URL},
            data={"arguments": {"hostname": hostname}, "reason": "test navigateur"},
        )
        assert answer.ok, answer.text()
    page.get_by_role("link", name="Outils MCP").click()
    page.wait_for_url("**/outils-mcp")
    assert page.locator("#mcp-server-status").inner_text() == "Joignable"
    rows = page.locator("table.mcp-tools tbody tr")
    assert rows.count() == 10
    reset = page.locator('tr[data-tool="ad_reset_password"]')
    assert "L3" in reset.inner_text() and "approbation SAFEGUARD" in reset.inner_text()
    assert "L0" in page.locator('tr[data-tool="glpi_search_client"]').inner_text()
    status_row = page.locator('tr[data-tool="observium_get_device_status"]').inner_text()
    assert "50\u202f%" in status_row, status_row  # the tool answered an error for the unknown device: a failed call
    assert "À l'instant" in status_row, status_row
    screenshot(page, "outils-mcp")
