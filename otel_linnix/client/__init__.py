"""HTTP client of the agent's API, for the CLI's ``stream``, ``alerts``, ``ps``, ``tree``, ``insights``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

DEFAULT_API = "http://127.0.0.1:3000"


class ApiError(Exception):
    pass


class Client:
    def __init__(self, api: str | None = None, token: str | None = None,
                 timeout: float = 10.0) -> None:
        self.base = (api or DEFAULT_API).rstrip("/")
        token = token or os.environ.get("OTEL_LINNIX_API_TOKEN")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    def get(self, path: str, **params) -> dict:
        import httpx  # here, not at module level: every CLI command, ``run`` too, imports
        # this module to register its parser, and httpx (with its CLI's click and pygments)
        # was several MB of the agent's resident memory

        try:
            resp = httpx.get(self.base + path, params={k: v for k, v in params.items()
                                                        if v is not None},
                             headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the agent's API at {self.base}: {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            raise ApiError(f"{self.base}{path}: HTTP {resp.status_code}, not JSON") from None
        if resp.status_code >= 400:
            raise ApiError(f"{self.base}{path}: {body.get('error', resp.status_code)}")
        return body

    def events(self, path: str, **params) -> Iterator[tuple[str, dict]]:
        """(event name, data) from an SSE endpoint, until the server closes it."""
        import httpx

        headers = {**self.headers, "Accept": "text/event-stream"}
        try:
            with httpx.stream("GET", self.base + path, headers=headers, timeout=None,
                              params={k: v for k, v in params.items() if v is not None}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise ApiError(f"{self.base}{path}: HTTP {resp.status_code}: {resp.text[:200]}")
                name = "message"
                for line in resp.iter_lines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        yield name, json.loads(line[5:])
                        name = "message"
        except httpx.HTTPError as exc:
            raise ApiError(f"stream from {self.base}{path} failed: {exc}") from None
