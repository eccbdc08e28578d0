"""An OpenAI-compatible model server for the browser tests: it answers by script, over a real socket, as a real
server streams (Server-Sent Events, usage in a last chunk). `[lent]` in the question makes a 60-piece answer, one
piece every 100 ms, for reloads and stops mid-answer. Usage: python scripted_llm.py PORT"""
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

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        question = next((m["content"] for m in reversed(request.get("messages", [])) if m.get("role") == "user"), "")
        if "[lent]" in question:
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


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
