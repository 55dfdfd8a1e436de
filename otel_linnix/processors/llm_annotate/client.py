"""OpenAI-compatible chat-completions over httpx.

httpx (already a dependency for the CLI) rather than the ``openai`` package: the wire protocol
is one POST, every compatible server (llama.cpp, Ollama, vLLM, OpenAI, gateways) speaks it, and
httpx gives us exact control of timeouts and of what counts as a failure, with no retries of
its own hidden behind ours.
"""

from __future__ import annotations

import httpx


class LLMError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # counted as a label: timeout, http_429, http_500, transport, bad_body


def completions_url(endpoint: str) -> str:
    """Linnix passes the full .../chat/completions URL; a base URL (…/v1) works too."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/chat/completions") else endpoint + "/chat/completions"


class ChatClient:
    def __init__(self, endpoint: str, model: str, api_key: str | None, timeout: float,
                 max_tokens: int) -> None:
        self.url = completions_url(endpoint)
        self.model = model
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)

    def chat(self, messages: list[dict]) -> tuple[str, int]:
        """(reply text, tokens used) or LLMError."""
        body = {"model": self.model, "messages": messages, "temperature": 0,
                "max_tokens": self.max_tokens, "response_format": {"type": "json_object"}}
        try:
            resp = self._http.post(self.url, json=body)
        except httpx.TimeoutException:
            raise LLMError("timeout", f"no answer from {self.url} in time") from None
        except httpx.HTTPError as exc:
            raise LLMError("transport", f"{self.url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code != 200:
            raise LLMError(f"http_{resp.status_code}", f"{self.url}: HTTP {resp.status_code}")
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError("bad_body", f"{self.url}: not a chat-completions answer") from None
        usage = data.get("usage") or {}
        tokens = usage.get("total_tokens") or (len(str(messages)) + len(content or "")) // 4
        return str(content or ""), int(tokens)

    def close(self) -> None:
        self._http.close()
