"""Bearer-token auth and request limits, as plain ASGI middleware in front of the app.

Loopback binds may run without a token; any other bind refuses to start without one. The token
comes from an environment variable or a file, or, only so a linnix.toml's ``auth_token`` keeps
working, from the config itself; it is compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import os

MAX_BODY = 64 * 1024
MAX_QUERY = 4096


class TokenError(ValueError):
    pass


def load_token(auth: dict) -> str | None:
    if auth.get("token_env"):
        token = os.environ.get(auth["token_env"], "")
        if not token:
            raise TokenError(f"extensions.api.auth.token_env: environment variable "
                             f"{auth['token_env']} is empty or unset")
        return token
    if auth.get("token_file"):
        try:
            with open(auth["token_file"], encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            raise TokenError(f"extensions.api.auth.token_file: {exc}") from None
        if not token:
            raise TokenError("extensions.api.auth.token_file: the file is empty")
        return token
    return auth.get("token") or None


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.expected is not None and not hmac.compare_digest(
                headers.get(b"authorization", b""), self.expected):
            return await _reply(send, 401, "missing or wrong bearer token")
        if len(scope.get("query_string", b"")) > MAX_QUERY:
            return await _reply(send, 414, f"query string longer than {MAX_QUERY} bytes")
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return await _reply(send, 413, f"request body over {MAX_BODY} bytes")
        if scope["method"] not in ("GET", "HEAD", "POST"):
            return await _reply(send, 405, f"method {scope['method'][:16]} not allowed")
        return await self.app(scope, receive, send)
