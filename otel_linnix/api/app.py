"""The HTTP/SSE API (Starlette): reads the process table, the alert store and the live stream.

Bad input is a 4xx with a JSON body naming the problem, never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from otel_linnix.api import views
from otel_linnix.api.stream import EventHub, is_overflow
from otel_linnix.component import AgentContext

MAX_LIMIT = 10000
GRAPH_MAX_NODES = 2000


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def _int(value: str | None, name: str, low: int = 0, high: int = 2**31) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise HTTPException(400, f"{name} must be an integer in [{low}, {high}]")
    return int(value)


class Filters:
    """comm / user / container / ppid filters shared by /processes and /stream."""

    def __init__(self, request: Request) -> None:
        q = request.query_params
        unknown = set(q) - {"comm", "user", "container", "ppid", "sort", "limit"}
        if unknown:
            raise HTTPException(400, f"unknown query parameter(s): {', '.join(sorted(unknown))[:200]}")
        self.comm = q.get("comm")
        self.user = _int(q.get("user"), "user")
        self.container = q.get("container")
        self.ppid = _int(q.get("ppid"), "ppid")

    def __call__(self, item: dict) -> bool:
        return ((self.comm is None or item.get("comm") == self.comm)
                and (self.user is None or item.get("uid") == self.user)
                and (self.container is None
                     or (item.get("container_id") or item.get("cgroup", "")).startswith(self.container)
                     or self.container in (item.get("cgroup") or ""))
                and (self.ppid is None or item.get("ppid") == self.ppid))


def build_app(ctx: AgentContext, hub: EventHub, registry: Callable[[], Any],
              max_streams: int) -> Starlette:
    """``registry`` returns the metrics registry to serve: the prometheus exporter's when the
    agent has one (the same numbers on both endpoints), else the API's own."""
    streams = {"open": 0}

    async def health(request):
        return JSONResponse({"status": "ok", "processes": len(ctx.process_table),
                             "alerts_firing": len(ctx.alerts.firing())})

    async def readyz(request):
        ready = ctx.ready.is_set()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def metrics(request):
        return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)

    async def processes(request):
        filters = Filters(request)
        sort = request.query_params.get("sort", "start")
        if sort not in views.SORT_KEYS:
            raise HTTPException(400, f"sort must be one of {', '.join(views.SORT_KEYS)}")
        limit = _int(request.query_params.get("limit"), "limit", 1, MAX_LIMIT) or 500
        procs = sorted(ctx.process_table.snapshot(), key=views.SORT_KEYS[sort])
        out = [d for p in procs if filters(d := views.process(p, ctx.host))][:limit]
        return JSONResponse({"count": len(out), "processes": out})

    async def one_process(request):
        pid = _int(request.path_params["pid"], "pid", 1)
        proc = ctx.process_table.get(pid)
        if proc is None:
            raise HTTPException(404, f"no live process with pid {pid}")
        return JSONResponse(views.process(proc, ctx.host))

    async def graph(request):
        pid = _int(request.path_params["pid"], "pid", 1)
        table = ctx.process_table
        me = table.get(pid)
        if me is None:
            raise HTTPException(404, f"no live process with pid {pid}")
        nodes, edges = {pid: ("self", me)}, []
        cur = me
        while cur.ppid and cur.ppid not in nodes and len(nodes) < GRAPH_MAX_NODES:
            parent = table.get(cur.ppid)
            if parent is None:
                break
            nodes[parent.pid] = ("ancestor", parent)
            edges.append({"from": parent.pid, "to": cur.pid})
            cur = parent
        todo = [pid]
        while todo and len(nodes) < GRAPH_MAX_NODES:
            for child in table.children(todo.pop()):
                if child.pid not in nodes:
                    nodes[child.pid] = ("descendant", child)
                    edges.append({"from": child.ppid, "to": child.pid})
                    todo.append(child.pid)
        return JSONResponse({"root": pid, "truncated": len(nodes) >= GRAPH_MAX_NODES,
                             "nodes": [{**views.process(p, ctx.host), "role": role}
                                       for role, p in nodes.values()], "edges": edges})

    async def stream(request):
        filters = Filters(request)
        last = request.headers.get("last-event-id")
        last_id = int(last) if last and last.isdigit() else None
        return await _sse(request, filters, last_id)

    async def _sse(request, filters, last_id):
        if streams["open"] >= max_streams:
            raise HTTPException(429, f"too many open streams (max {max_streams})")
        client = hub.attach(asyncio.get_running_loop(), filters, last_id)
        streams["open"] += 1

        async def events():
            try:
                while True:
                    item = await client.queue.get()
                    if is_overflow(item):
                        return  # too slow: disconnected, counted by the hub
                    yield {"id": str(item[0]), "event": item[1]["type"], "data": json.dumps(item[1])}
            finally:
                hub.detach(client)
                streams["open"] -= 1

        return EventSourceResponse(events(), ping=15)

    async def alerts(request):
        if "text/event-stream" in request.headers.get("accept", ""):
            return await _alert_stream(request)
        return JSONResponse({"firing": [views.alert(a, ctx.host) for a in ctx.alerts.firing()],
                             "recent": [views.alert(a, ctx.host) for a in ctx.alerts.recent(200)]})

    async def _alert_stream(request):
        if streams["open"] >= max_streams:
            raise HTTPException(429, f"too many open streams (max {max_streams})")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)

        def offer(alert):
            if queue.full():
                hub.dropped_alerts.add()  # a client this far behind loses alerts, counted
            else:
                queue.put_nowait(alert)

        def listener(alert):
            loop.call_soon_threadsafe(offer, alert)

        unsubscribe = ctx.alerts.subscribe(listener)
        streams["open"] += 1

        async def events():
            try:
                for a in ctx.alerts.firing():
                    yield {"event": "alert", "data": json.dumps(views.alert(a, ctx.host))}
                while True:
                    a = await queue.get()
                    yield {"event": "alert", "data": json.dumps(views.alert(a, ctx.host))}
            finally:
                unsubscribe()
                streams["open"] -= 1

        return EventSourceResponse(events(), ping=15)

    async def insights(request):
        provider = ctx.lookup("insights")
        if provider is None:
            return error(503, "LLM insights are not enabled: add the llm_annotate processor "
                              "to a pipeline (and runtime offline must be false)")
        if request.method == "POST" or request.query_params.get("analyze") == "1":
            return JSONResponse(await asyncio.to_thread(provider.analyze))
        return JSONResponse({"status": provider.status(), "insights": provider.recent(50)})

    async def on_http_error(request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    routes = [Route("/health", health), Route("/healthz", health), Route("/readyz", readyz),
              Route("/metrics", metrics), Route("/processes", processes),
              Route("/processes/{pid}", one_process), Route("/graph/{pid}", graph),
              Route("/stream", stream), Route("/alerts", alerts),
              Route("/insights", insights, methods=["GET", "POST"])]
    app = Starlette(routes=routes,
                    exception_handlers={HTTPException: on_http_error})  # type: ignore[dict-item]
    app.router.redirect_slashes = False  # "/processes/" is a 404, not a redirect
    return app
