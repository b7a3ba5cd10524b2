"""Driving the drill room in a real browser: Debian's Chromium through Playwright, no browser download.

Shared by the browser tests and ``benchmarks/room_screenshots.py``. Everything waits on what the page
shows (Playwright's auto-waiting ``expect``) with generous deadlines, never on a fixed sleep.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # imported where used, so a machine without Playwright gets the fixture's clear message
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, ViewportSize
    from playwright.sync_api import expect as expect  # re-exported for the tests
else:
    def expect(actual: Any, message: str | None = None) -> Any:
        """Playwright's ``expect``, imported when first called: collecting the tests (``-m 'not browser'``)
        must not need Playwright."""
        from playwright.sync_api import expect as playwright_expect

        return playwright_expect(actual, message)

DEADLINE_MS: Final = 60_000
"""How long a page may take to show what a test waits for: two cores shared by a dozen test sessions."""

PHONE: Final[ViewportSize] = {"width": 375, "height": 740}
"""A phone's viewport in CSS pixels (an iPhone SE-sized screen)."""

CHROMIUM_NAMES: Final = ("chromium", "chromium-browser")

RECORD_STREAM: Final = """
(() => {
  // Every timeline event the page's EventSource delivers, by id, and each (re)connection: what the feed
  // shows is deduplicated by room.js, so repeats are counted here, below it.
  const Native = window.EventSource;
  window.__stream = {ids: [], opens: 0, errors: 0};
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener("open", () => { window.__stream.opens += 1; });
      this.addEventListener("error", () => { window.__stream.errors += 1; });
      this.addEventListener("timeline", (m) => { window.__stream.ids.push(Number(m.lastEventId)); });
    }
  };
})();
"""
"""An init script (run before room.js, outside the page's Content-Security-Policy) recording the stream."""


class ChromiumMissing(Exception):
    """No Chromium to drive: the message says how to install it."""


def find_chromium(env: dict[str, str] | None = None) -> str:
    """The system Chromium's executable: $GAMEDAY_CHROMIUM if set, else ``chromium`` on the PATH.

    Debian's package (scripts/setup.sh installs it) is what CI uses; Playwright's own browser download is
    never needed.
    """
    env = dict(os.environ) if env is None else env
    named = env.get("GAMEDAY_CHROMIUM")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise ChromiumMissing(f"GAMEDAY_CHROMIUM={named} is not an executable file")
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    raise ChromiumMissing("no Chromium found (chromium or chromium-browser on the PATH, or $GAMEDAY_CHROMIUM): "
                          "install Debian's chromium package (scripts/setup.sh does)")


def launch(playwright: Playwright, executable: str) -> Browser:
    """One headless Chromium; each participant gets their own context (cookies, storage) in it. Every
    ``expect`` waits up to DEADLINE_MS from here on (Playwright's default is 5 s)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEADLINE_MS)
    return playwright.chromium.launch(executable_path=executable, headless=True)


class Participants:
    """The browser contexts of one room's participants (each its own cookies and storage), closed together
    before the room is: a page still open would hold its event stream through the server's shutdown."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._contexts: list[BrowserContext] = []

    def page(self, *, viewport: ViewportSize | None = None, record: bool = False) -> Page:
        """A new participant's page; ``record`` installs the stream recorder (RECORD_STREAM)."""
        context = self._browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        self._contexts.append(context)
        context.set_default_timeout(DEADLINE_MS)
        if record:
            context.add_init_script(RECORD_STREAM)
        return context.new_page()

    def close(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts.clear()


@contextmanager
def participants(browser: Browser) -> Iterator[Participants]:
    people = Participants(browser)
    try:
        yield people
    finally:
        people.close()


def join_seat(page: Page, link: str, *, name: str, role: str) -> None:
    """Open a seat's join link, give a name and take a role through the join form."""
    from playwright.sync_api import expect

    page.goto(link)
    page.get_by_test_id("seat-name").fill(name)
    page.get_by_test_id("seat-role").select_option(role)
    page.get_by_test_id("seat-submit").click()
    expect(page.get_by_test_id("whoami")).to_have_text(f"{name}, {role.replace('_', ' ')}", timeout=DEADLINE_MS)


def act(page: Page, action: str, *, expect_message: str | None = None, **fields: str) -> str:
    """Fill one action form as a person would (inputs typed, selects chosen, boxes ticked) and submit it;
    returns the room's answer as the page shows it. The form must be shown to this seat."""
    from playwright.sync_api import expect

    form = page.get_by_test_id(f"form-{action}")
    expect(form).to_be_visible(timeout=DEADLINE_MS)
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        tag = field.evaluate("e => e.tagName + ':' + (e.type || '')")
        if tag.startswith("SELECT"):
            field.select_option(value)
        elif tag == "INPUT:checkbox":
            field.set_checked(value == "yes")
        else:
            field.fill(value)
    with page.expect_response(lambda r: r.url.endswith("/api/action") and r.request.method == "POST",
                              timeout=DEADLINE_MS) as answer:
        form.locator("button[type=submit]").click()
    data: dict[str, Any] = answer.value.json()
    assert data["ok"], f"{action} refused: {data['error']}"
    message = str(data["message"])
    if expect_message is not None:
        assert message == expect_message, f"{action}: {message!r}"
    expect(page.get_by_test_id("notice")).to_have_text(message, timeout=DEADLINE_MS)
    return message


def feed_ids(page: Page) -> list[int]:
    """The timeline ids the page's feed shows, oldest first (the feed lists the newest on top)."""
    ids = page.get_by_test_id("feed-item").evaluate_all("items => items.map(i => Number(i.dataset.id))")
    return sorted(int(i) for i in ids)


def stream_record(page: Page) -> dict[str, Any]:
    """What the stream recorder saw: ``ids`` in arrival order, ``opens`` and ``errors``."""
    record: dict[str, Any] = page.evaluate("window.__stream")
    return record


def tab_to(page: Page, target: Locator, *, limit: int = 60, back: bool = False) -> int:
    """Press Tab (``back``: Shift+Tab) until ``target`` (a locator) has the keyboard focus; returns how many
    presses it took."""
    key = "Shift+Tab" if back else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if has_focus(target):
            return presses
    raise AssertionError(f"{target} never took the focus in {limit} presses of {key}")


def has_focus(target: Locator) -> bool:
    focused: bool = target.evaluate("e => e === document.activeElement")
    return focused


def focus_ring(page: Page) -> str:
    """The focused element's outline as drawn ("solid 3px"), or "none": a keyboard user must see where they are."""
    ring: str = page.evaluate("""() => {
      const s = getComputedStyle(document.activeElement);
      return s.outlineStyle === "none" || parseFloat(s.outlineWidth) === 0 ? "none"
        : s.outlineStyle + " " + s.outlineWidth;
    }""")
    return ring


def clipped(page: Page, selector: str) -> list[str]:
    """The shown elements matching ``selector`` that are not wholly on screen sideways: past the viewport's
    width, or cut by an ancestor that scrolls or hides its overflow (a table scrolled sideways hides them)."""
    cut: list[str] = page.evaluate("""(selector) => {
      const width = document.documentElement.clientWidth;
      const out = [];
      for (const e of document.querySelectorAll(selector)) {
        if (e.offsetParent === null) continue;
        const r = e.getBoundingClientRect();
        let bad = r.left < -0.5 || r.right > width + 0.5;
        for (let a = e.parentElement; a && a !== document.body && !bad; a = a.parentElement) {
          const style = getComputedStyle(a);
          if (style.overflowX === "visible" && style.overflowY === "visible") continue;
          const box = a.getBoundingClientRect();
          bad = r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
            || r.bottom > box.bottom + 0.5;
        }
        if (bad) out.push(e.outerHTML.slice(0, 100));
      }
      return out;
    }""", selector)
    return cut


def horizontal_overflow(page: Page) -> int:
    """CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
    extra: int = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return extra


def outside_viewport(page: Page) -> list[str]:
    """The shown controls (buttons, inputs, selects, textareas) that reach past the viewport's width."""
    outside: list[str] = page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      return Array.from(document.querySelectorAll("button, input, select, textarea"))
        .filter((e) => e.offsetParent !== null)
        .filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > width + 0.5; })
        .map((e) => e.outerHTML.slice(0, 80));
    }""")
    return outside


class Relay:
    """A TCP relay in front of the room that can drop every connection through it and refuse new ones,
    as a train entering a tunnel does; the room behind it keeps running. Browsers that reach the room
    through ``base`` lose their event stream at ``cut()`` and get it back after ``restore()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self.refused = 0
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was shut down
            with self._lock:
                if self._cut:
                    self.refused += 1
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(self._target, timeout=30)
                except OSError:
                    client.close()  # the room is gone (the test is ending)
                    continue
                upstream.settimeout(None)
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._open.discard(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the other side
                sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore()``."""
        with self._lock:
            self._cut = True
            live = list(self._open)
        self._drop(*live)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self.cut()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=30)


@contextmanager
def relay_to(base: str) -> Iterator[Relay]:
    """A Relay in front of the room at ``base`` (http://127.0.0.1:PORT) for the block."""
    host, port = base.removeprefix("http://").split(":")
    relay = Relay((host, int(port)))
    try:
        yield relay
    finally:
        relay.close()
