"""An MCP server written with the official Python SDK, as WIDIP's Phase 1 server is: an independent implementation
that the platform's Swift client is tested against (tests/WidipAppTests/PythonPeerTests.swift).

python_mcp_server.py PORT [--json]   (--json: plain JSON answers without sessions, instead of SSE in a session)
"""
import asyncio
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer(name="widip-phase1-like", version="1.0")

DEVICES = {"SWITCH-CLIN-STJEAN": {"status": "UP", "uptime_days": 45, "ports_up": 24, "ports_total": 24}}


@server.tool(annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False))
def observium_get_device_status(hostname: str) -> dict:
    """État d'un équipement supervisé par Observium."""
    device = DEVICES.get(hostname.strip().upper())
    if device is None:
        raise ToolError(f"Équipement inconnu : « {hostname} ».")
    return {"hostname": hostname.upper(), **device}


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
async def memory_search_similar_cases(query: str, limit: int = 5) -> str:
    """Cas similaires déjà résolus (répond lentement pour une requête « lent »)."""
    if query == "lent":
        await asyncio.sleep(30)
    return f"{min(limit, 2)} cas trouvés pour « {query} »"


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
def outil_phase1_inconnu(username: str) -> str:
    """Un outil que le catalogue WIDIP ne connaît pas."""
    return f"fait pour {username}"


def glpi_add_followup(ticket_id: int, text: str) -> str:
    """Ajoute un suivi à un ticket GLPI."""
    return f"suivi ajouté au ticket {ticket_id}"


@server.tool()
async def publier_nouvel_outil(ctx: Context) -> str:
    """Ajoute un outil au serveur et prévient les clients (notifications/tools/list_changed), comme un serveur mis à jour."""
    server.add_tool(glpi_add_followup, name="glpi_add_followup")
    await ctx.session.send_tool_list_changed()
    return "outil ajouté"


if __name__ == "__main__":
    port = int(sys.argv[1])
    json_replies = "--json" in sys.argv[2:]
    server.run("streamable-http", host="127.0.0.1", port=port, json_response=json_replies, stateless_http=json_replies)
