"""An OpenAI-compatible model server for the browser tests: it answers by script, over a real socket, as a real
server streams (Server-Sent Events, usage in a last chunk). `[lent]` in the question makes a 60-piece answer, one
piece every 100 ms, for reloads and stops mid-answer. When tools are offered (Assistant WIDIP), a question about the
switch calls the PRD's three tools one round after the other, and a password question asks for the reset; then it
answers from what the tools said. Usage: python scripted_llm.py PORT"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b'{"object":"list","data":[{"id":"scripte"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # The PRD's example (3.1.2): the client, the switch's status, the past incidents.
    SWITCH_CALLS = [
        ("glpi_search_client", {"query": "Clinique St-Jean"}),
        ("observium_get_device_status", {"hostname": "SWITCH-CLIN-STJEAN"}),
        ("memory_search_similar_cases", {"query": "switch Clinique Saint-Jean"}),
    ]
    RESET_CALLS = [("ad_reset_password", {"username": "jean.dupont"})]

    def tool_script(self, request, question):
        results = [m.get("content", "") for m in request.get("messages", []) if m.get("role") == "tool"]
        # The question itself, without the knowledge base's passages the platform puts before it.
        question = question.split("\n\n---\nQuestion : ")[-1]
        if "switch" in question.lower():
            calls = self.SWITCH_CALLS
        elif "mot de passe" in question.lower():
            calls = self.RESET_CALLS
        else:
            return None
        messages = request.get("messages", [])
        told_to_answer = bool(messages) and str(messages[-1].get("content", "")).startswith("Réponds maintenant")
        if request.get("tools") and not told_to_answer and len(results) < len(calls):
            name, arguments = calls[len(results)]
            return {"call": (f"call_{len(results) + 1}", name, json.dumps(arguments))}
        if calls is self.RESET_CALLS:
            return {"text": "La réinitialisation du mot de passe de jean.dupont attend l'approbation d'un collègue dans SAFEGUARD."}
        status = next((json.loads(r) for r in results if r.startswith("{") and '"uptime_days"' in r), {})
        return {"text": f"Le switch {status.get('hostname', '?')} de la {status.get('client', '?')} est {status.get('status', '?')} "
                        f"depuis {status.get('uptime_days', '?')} jours ; 2 incidents ont été résolus en 2024 [1]."}

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        # The question: the last user turn, not the assistant's closing instruction (« Réponds maintenant… »).
        question = next((m["content"] for m in reversed(request.get("messages", []))
                         if m.get("role") == "user" and not m["content"].startswith("Réponds maintenant")), "")
        script = self.tool_script(request, question)
        if script and "call" in script:
            return self.call_tool(*script["call"])
        if script:
            pieces, delay = [word + " " for word in script["text"].split(" ")], 0.02
        elif "[lent]" in question:
            pieces, delay = [f"mot{n} " for n in range(1, 61)], 0.1
        else:
            pieces, delay = ["Bonjour ! ", "Voici **WIBOT**, ", "et du code :\n\n```powershell\n", "Get-ADUser -Filter *\n", "```\n"], 0.05
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for piece in pieces:
                chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(delay)
            self.wfile.write(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
            usage = {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": len(pieces)}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer was stopped: the backend closed the request

    def call_tool(self, call_id, name, arguments):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        first = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        chunks = [
            {"choices": [{"index": 0, "delta": {"tool_calls": [first]}}]},
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 30, "completion_tokens": 9}},
        ]
        try:
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
