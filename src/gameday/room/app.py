"""The drill room's web application (Starlette): pages, the JSON API, the event stream and the viewer.

    GET  /join/<token>        a link printed by ``gameday room``: sets the identity cookie, then the page
    GET  /console, /seat      the facilitator's console, a seat's page (static HTML + /static/room.js)
    GET  /api/state           what this identity sees now (JSON)
    GET  /api/events          server-sent events (stream.py); Last-Event-ID resumes
    POST /api/seat            a seat's name and role
    POST /api/action          one action of the drill core: {"action": ..., ...its fields}
    POST /api/control         the facilitator's start, pause, resume, stop, and a seat's role
    GET  /reports/, /reports/<run>/, /trends     the report viewer
    GET  /static/<file>       the package's own assets

Every page and API call needs the cookie a join link set (HttpOnly, SameSite=Strict); every POST also
needs the identity's CSRF value in the ``X-Gameday-CSRF`` header, a JSON body of at most 16 KiB and,
from a browser, this room's own Origin (guard.py). Pages carry no token and no secret. Each identity has
its own budgets (guard.Limits): POSTs, reads (pages, the state, a stream opened) and open event streams;
past one the answer is 429 with a Retry-After.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from markupsafe import escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gameday.errors import GamedayError
from gameday.facilitator.core import ActionRefused
from gameday.room import viewer
from gameday.room.guard import (
    COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    MAX_BODY,
    RETRY_AFTER_S,
    Slots,
    origin_ok,
    same,
)
from gameday.room.room import Identity, Room
from gameday.room.stream import parse_last_id, stream

STATIC: Final = {"room.js": "text/javascript", "room.css": "text/css", "forms.html": "text/html"}
"""The only files served as they are from the package's static folder (the two pages need an identity)."""

APP_CSP: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
REPORT_CSP: Final = ("default-src 'none'; style-src 'unsafe-inline' 'self'; img-src 'self' data:; "
                     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""A run's report.html and the trends page are self-contained: inline styles and SVG, no script at all."""


def _static(name: str) -> bytes:
    return resources.files("gameday.room").joinpath("static", name).read_bytes()


def _headers(csp: str = APP_CSP) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store"}


def _refused(message: str, status: int) -> JSONResponse:
    extra = {"Retry-After": str(RETRY_AFTER_S)} if status == 429 else {}
    return JSONResponse({"ok": False, "error": message}, status_code=status, headers={**_headers(), **extra})


class HeldStream(StreamingResponse):
    """An event stream holding one of its identity's stream slots until the response ends, however it ends
    (the client went away, the room closed, an error)."""

    def __init__(self, content: AsyncIterator[str], *, slots: Slots, headers: dict[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()


def create_app(room: Room, *, reports_dir: Path, history: str | None, secure_cookies: bool = False) -> Starlette:
    """The room's application; ``app.state.close_streams()`` ends every event stream (before a shutdown, so
    the server need not cancel them)."""
    closing = threading.Event()

    def close_streams() -> None:
        closing.set()
        room.changed()

    def who(request: Request) -> Identity | None:
        return room.identify(request.cookies.get(COOKIE))

    def page_for(request: Request) -> Identity | Response:
        identity = who(request)
        if identity is None:
            return HTMLResponse(viewer.page("Not in this room", "<p data-testid='not-joined'>Open the link "
                                            "<code>gameday room</code> printed for you to join.</p>"),
                                status_code=403, headers=_headers())
        if not identity.limits.reads.take():
            return HTMLResponse(viewer.page("Too many requests", "<p>Too many pages at once from your link: "
                                            "wait a moment and reload.</p>"), status_code=429,
                                headers={**_headers(), "Retry-After": str(RETRY_AFTER_S)})
        return identity

    def reader(request: Request) -> Identity | Response:
        """The identity of an API read (the state, the stream), within its read budget."""
        identity = who(request)
        if identity is None:
            return _refused("not in this room: open your join link", 403)
        if not identity.limits.reads.take():
            return _refused("too many reads at once: wait a moment", 429)
        return identity

    async def join(request: Request) -> Response:
        identity = room.identify(request.path_params["token"])
        if identity is None:
            return HTMLResponse(viewer.page("Not a link to this room", "<p data-testid='bad-link'>This link is "
                                            "not valid for this room: ask the facilitator for yours.</p>"),
                                status_code=403, headers=_headers())
        target = "/console" if identity.is_facilitator else "/seat"
        response = RedirectResponse(target, status_code=303, headers=_headers())
        token = request.path_params["token"]
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies, path="/")
        response.set_cookie(CSRF_COOKIE, identity.csrf, httponly=False, samesite="strict", secure=secure_cookies,
                            path="/")
        return response

    async def static_page(request: Request, name: str, facilitator: bool) -> Response:
        identity = page_for(request)
        if not isinstance(identity, Identity):
            return identity
        if identity.is_facilitator != facilitator:
            return RedirectResponse("/console" if identity.is_facilitator else "/seat", status_code=303)
        return Response(_static(name), media_type="text/html", headers=_headers())

    async def console(request: Request) -> Response:
        return await static_page(request, "console.html", True)

    async def seat(request: Request) -> Response:
        return await static_page(request, "seat.html", False)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404, headers=_headers())
        return Response(_static(name), media_type=STATIC[name], headers={**_headers(), "Cache-Control": "no-cache"})

    async def state(request: Request) -> Response:
        identity = reader(request)
        if not isinstance(identity, Identity):
            return identity
        data = await run_in_threadpool(room.state_for, identity)
        return JSONResponse(data, headers=_headers())

    async def events(request: Request) -> Response:
        identity = reader(request)
        if not isinstance(identity, Identity):
            return identity
        if not identity.limits.streams.take():
            return _refused("too many event streams open from your link: close a tab", 429)
        last = parse_last_id(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
        return HeldStream(stream(room, identity, last, closing=closing), slots=identity.limits.streams,
                          headers={**_headers(), "X-Accel-Buffering": "no"})

    async def guarded(request: Request, handle: Callable[[Identity, dict[str, Any]], Any]) -> Response:
        """A state-changing request: identity, CSRF header, Origin, JSON body within bounds, rate."""
        identity = who(request)
        if identity is None:
            return _refused("not in this room: open your join link", 403)
        if not same(request.headers.get(CSRF_HEADER), identity.csrf):
            return _refused("missing or wrong X-Gameday-CSRF header: reload the page", 403)
        if not origin_ok(request.headers.get("origin"), request.headers.get("host"), request.url.scheme):
            return _refused("this request came from another site", 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refused("send JSON (Content-Type: application/json)", 415)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _refused(f"the request is larger than {MAX_BODY} bytes", 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _refused(f"the request is larger than {MAX_BODY} bytes", 413)
        if not identity.limits.actions.take():
            return _refused("too many actions at once: wait a moment", 429)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _refused("the body is not JSON", 400)
        if not isinstance(data, dict):
            return _refused("the body must be a JSON object", 400)
        try:
            message = await run_in_threadpool(handle, identity, data)
        except ActionRefused as exc:
            return _refused(str(exc), 409)
        return JSONResponse({"ok": True, "message": message or "done"}, headers=_headers())

    def _text(data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str):
            raise ActionRefused(f"field '{key}': text is needed")
        return value

    def take_seat(identity: Identity, data: dict[str, Any]) -> str:
        room.take_seat(identity, name=_text(data, "name"), role=_text(data, "role"))
        return "seated"

    def act(identity: Identity, data: dict[str, Any]) -> str:
        return room.act(identity, _text(data, "action"), data)

    def control(identity: Identity, data: dict[str, Any]) -> str:
        op = _text(data, "op")
        match op:
            case "start":
                room.start(identity)
            case "stop":
                room.stop(identity)
            case "pause" | "resume":
                room.pause(identity, paused=op == "pause")
            case "set_role":
                number = data.get("seat")
                if not isinstance(number, int) or isinstance(number, bool):
                    raise ActionRefused("field 'seat': a seat number is needed")
                room.set_role(identity, seat_number=number, role=_text(data, "role"))
            case _:
                raise ActionRefused(f"unknown control '{op}': start, pause, resume, stop or set_role")
        return op

    def post(handle: Callable[[Identity, dict[str, Any]], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await guarded(request, handle)
        return endpoint

    async def runs(request: Request) -> Response:
        identity = page_for(request)
        if not isinstance(identity, Identity):
            return identity
        text = await run_in_threadpool(viewer.runs_page, reports_dir, history)
        return HTMLResponse(text, headers=_headers())

    async def report(request: Request) -> Response:
        identity = page_for(request)
        if not isinstance(identity, Identity):
            return identity
        path = viewer.report_file(reports_dir, request.path_params["run_id"])
        if path is None:
            return HTMLResponse(viewer.page("No such report", "<p>No report for that run in this room's "
                                            "reports folder.</p>"), status_code=404, headers=_headers())
        return Response(path.read_bytes(), media_type="text/html", headers=_headers(REPORT_CSP))

    async def trends(request: Request) -> Response:
        identity = page_for(request)
        if not isinstance(identity, Identity):
            return identity
        today = datetime.now(UTC).date().isoformat()
        try:
            text = await run_in_threadpool(viewer.trends_page, history, request.query_params.get("quarter"), today)
        except GamedayError as exc:
            return HTMLResponse(viewer.page("Trends", f"<p class='error'>{escape(str(exc))}</p>"),
                                status_code=400, headers=_headers())
        return HTMLResponse(text, headers=_headers(REPORT_CSP))

    async def home(request: Request) -> Response:
        identity = page_for(request)
        if not isinstance(identity, Identity):
            return identity
        return RedirectResponse("/console" if identity.is_facilitator else "/seat", status_code=303)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204, headers=_headers())  # none: a browser asks anyway, a 404 is noise

    app = Starlette(routes=[
        Route("/", home),
        Route("/favicon.ico", favicon),
        Route("/join/{token}", join),
        Route("/console", console),
        Route("/seat", seat),
        Route("/static/{name}", asset),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/seat", post(take_seat), methods=["POST"]),
        Route("/api/action", post(act), methods=["POST"]),
        Route("/api/control", post(control), methods=["POST"]),
        Route("/reports/", runs),
        Route("/reports/{run_id}/", report),
        Route("/reports/{run_id}/report.html", report),
        Route("/trends", trends),
    ])
    app.state.close_streams = close_streams
    return app
