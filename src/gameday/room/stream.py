"""Server-sent events: the run's timeline as it grows, each event with its id, resumed from Last-Event-ID.

An event's id is its position in the timeline (1-based). A client that reconnects sends the last id it
saw (browsers do this themselves) and gets every visible event after it, once: nothing lost, nothing
repeated. Changes that are not timeline events (a seat joined, the room's status) come as ``room``
events without an id, which browsers do not count; a client then reads ``/api/state`` again.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any, Final

from gameday.facilitator.session import describe_event
from gameday.room.room import Identity, Room
from gameday.timeline import Event

KEEPALIVE_S: Final = 15.0
"""Seconds between comments on a quiet stream, so proxies and browsers keep it open."""


def parse_last_id(value: str | None) -> int:
    """The Last-Event-ID a client sent: a whole number, else 0 (from the start)."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 12:
        return 0
    return int(value.strip())


def plain(markup: str) -> str:
    """A describe_event line without its rich markup (the page styles by kind)."""
    from rich.text import Text

    return Text.from_markup(markup).plain


def event_payload(event: Event, event_id: int) -> dict[str, Any]:
    line = describe_event(event)
    return {"id": event_id, "kind": event.kind, "actor": event.actor, "at": event.at,
            "t_s": event.details.get("t_s"), "offset": round(event.offset, 3), "details": event.details,
            "text": plain(line) if line is not None else None}


def sse(data: dict[str, Any], *, event: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


async def stream(room: Room, identity: Identity, last_id: int, *, closing: threading.Event) -> AsyncIterator[str]:
    """The events after ``last_id`` that this identity may see, then each new one as it comes, until ``closing``
    (set, with ``room.changed()`` to wake every stream, when the room shuts down)."""
    loop = asyncio.get_running_loop()
    poke = asyncio.Event()

    def wake() -> None:  # called from the engine's and the actions' threads
        loop.call_soon_threadsafe(poke.set)

    room.subscribe(wake)
    sent = max(0, last_id)
    version = -1
    try:
        yield "retry: 1000\n\n"
        while not closing.is_set():
            poke.clear()
            events = room.events()
            for index in range(sent, len(events)):
                if room.visible(events, index, facilitator=identity.is_facilitator):
                    yield sse(event_payload(events[index], index + 1), event="timeline", event_id=index + 1)
            sent = max(sent, len(events))
            if room.version != version:
                version = room.version
                yield sse({"version": version, "status": room.status.phase}, event="room")
            try:
                await asyncio.wait_for(poke.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
    finally:
        room.unsubscribe(wake)
