"""A real local OpenAI-compatible chat-completions server whose answers a test chooses.

Modes: ``good`` (valid JSON citing f1), ``garbage`` (prose), ``invented`` (cites a fact that
does not exist), ``slow`` (answers after ``delay``), ``429``, ``500``. Every request body it
received is kept, so tests can assert what was (and was not) sent.
"""

from __future__ import annotations

import http.server
import json
import threading
import time


class FakeLLM:
    def __init__(self) -> None:
        self.mode = "good"
        self.delay = 0.0
        self.requests: list[dict] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _answer(self) -> tuple[int, dict | str]:
        content = {"summary": "a shell loop is forking", "likely_cause": "fork bomb",
                   "cited_facts": ["f1"], "next_steps": ["kill the tree"], "confidence": 0.8}
        if self.mode == "garbage":
            return 200, _chat("Sure! The process is probably fine :)")
        if self.mode == "invented":
            return 200, _chat(json.dumps({**content, "cited_facts": ["f1", "f999"]}))
        if self.mode == "429":
            return 429, {"error": "rate limited"}
        if self.mode == "500":
            return 500, {"error": "boom"}
        if self.mode == "slow":
            time.sleep(self.delay)
        return 200, _chat(json.dumps(content))

    def _handler(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(json.loads(body or b"{}"))
                status, answer = outer._answer()
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if status == 429:
                        self.send_header("Retry-After", "30")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): that is the point of "slow"

        return Handler

    def bodies(self) -> str:
        return json.dumps(self.requests)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _chat(content: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"total_tokens": 123}}
