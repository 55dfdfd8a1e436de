"""Runs the API with uvicorn on its own thread and event loop, inside the agent's process."""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn

from otel_linnix.api.app import build_app
from otel_linnix.api.security import Guard, load_token
from otel_linnix.api.stream import EventHub
from otel_linnix.component import CreateSettings, Extension
from otel_linnix.config.types import is_loopback, parse_host_port


class _QuietServer(uvicorn.Server):
    """uvicorn's main loop wakes ten times a second to see whether it should stop, which was a
    visible part of an idle agent's CPU. This one wakes once a second (the Date header is
    refreshed as often as before) and at once when told to stop."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        while not await self.on_tick(0):  # tick 0: the Date header is refreshed every time
            try:
                await asyncio.wait_for(self._wake.wait(), 1.0)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self.should_exit = True
        self.force_exit = True
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)


class ApiExtension(Extension):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self.host, self.port = parse_host_port(config["endpoint"])
        self._token = load_token(config["auth"])
        if self._token is None and not is_loopback(self.host):
            raise ValueError(f"extensions.api: binding {self.host} (not loopback) needs a bearer "
                             "token: set auth.token_env or auth.token_file")
        self._config = config
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._hub: EventHub | None = None

    def start(self) -> None:
        from otel_linnix.exporters.prometheus.collector import build_registry

        self._hub = EventHub(self._ctx, self._config["stream_buffer"],
                             self._config["client_queue"])
        own = build_registry(self._ctx)  # when no prometheus exporter offers its registry
        app = Guard(build_app(self._ctx, self._hub,
                              lambda: self._ctx.lookup("metrics_registry") or own,
                              self._config["max_streams"]), self._token)
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1, access_log=False)
        self._server = _QuietServer(config)
        # the service owns signals
        self._server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()),
                                        name="api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError(f"cannot listen on {self.host}:{self.port}")
            time.sleep(0.02)
        if not self._server.started:
            raise RuntimeError(f"API did not start on {self.host}:{self.port}")
        sockets = self._server.servers[0].sockets if self._server.servers else []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._log.info("API on http://%s:%d", self.host, self.port)

    def shutdown(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.stop()
            if self._thread is not None:
                self._thread.join(timeout)
            self._server = None
        if self._hub is not None:
            self._hub.close()
            self._hub = None
