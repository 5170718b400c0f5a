"""A headless chromium that opens a page from disk and says what the page did (a test helper).

The browser is Debian's ``chromium``, spoken to over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in ``\\0``, commands on fd 3, replies and
events on fd 4), with the standard library only. Networking is off (the host resolver maps every
name to nothing, the page is emulated offline), and every request the page tries is recorded
anyway (``Network.requestWillBeSent``), as is every error on its console (``console.error``, an
uncaught exception, a browser log entry of level error). Every wait has a deadline; nothing
sleeps.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """Chromium is missing, ended, answered an error, or did not answer before the deadline."""


@dataclass
class PageVisit:
    """What happened when a page was opened.

    Attributes
    ----------
    requests : list of str
        URLs the page asked for that are not local (not file:, data:, about:, blob:).
    errors : list of str
        Console errors, uncaught exceptions and browser log entries of level error.
    screenshot : bytes
        A PNG of the whole page.
    boxes : list of dict
        ``{"x", "y", "width", "height"}`` in CSS pixels of each element ``selector`` matched.
    """

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    boxes: list[dict[str, float]] = field(default_factory=list)


def chromium() -> str:
    """The chromium executable; a `BrowserError` (the test fails, never skips) without one."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found is None:
        raise BrowserError(
            f"{CHROMIUM} not found: the browser tests need chromium (scripts/test installs it)"
        )
    return found


class Browser:
    """One headless chromium, driven over the DevTools pipe; use it in a ``with`` block."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        executable = chromium()
        self._profile = tempfile.TemporaryDirectory(prefix="nnctl-chromium-")
        to_child, self._to_browser = os.pipe()
        self._from_browser, from_child = os.pipe()
        # Above 9, so that dup2 to 3 and 4 in the child makes new, inheritable descriptors.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child)]
        os.close(to_child)
        os.close(from_child)

        def child_fds() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        args = [executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,
            close_fds=False,
        )
        for fd in ends:
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ask chromium to quit, wait for it (with a deadline), and remove its profile."""
        try:
            if self._process.poll() is None:
                self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == message["id"], method)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        """The first event ``method`` of ``session``, already received or the next to come."""
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        return self._wait(
            lambda m: m.get("method") == method and m.get("sessionId") == session, method
        )

    def _wait(self, wanted: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    return dict(message)
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer to {what} within {self.timeout:g} s")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium ended while waiting for {what}")
                self._buffer += chunk

    def visit(self, page: Path, selector: str = "img, svg") -> PageVisit:
        """Open ``page`` (a file) offline, wait for its load event, and report what it did."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session)
        self.send(
            "Network.emulateNetworkConditions",
            session,
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        self.send("Emulation.setDeviceMetricsOverride", session, width=1200, height=900,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        start = len(self.events)
        self.send("Page.navigate", session, url=page.resolve().as_uri())
        self.wait_event("Page.loadEventFired", session)
        boxes = self.send(
            "Runtime.evaluate",
            session,
            expression=f"JSON.stringify(Array.from(document.querySelectorAll({json.dumps(selector)}))"
            ".map(e => { const r = e.getBoundingClientRect();"
            " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; }))",
            returnByValue=True,
        )["result"]["value"]
        size = self.send("Page.getLayoutMetrics", session)["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        visit = PageVisit(screenshot=base64.b64decode(shot["data"]), boxes=json.loads(boxes))
        for event in self.events[start:]:
            if event.get("sessionId") == session:
                _record(visit, event)
        self.send("Target.closeTarget", targetId=target)
        return visit


def _record(visit: PageVisit, event: dict[str, Any]) -> None:
    """Add a request that left the page, or an error on its console, to ``visit``."""
    method, params = event["method"], event.get("params", {})
    if method == "Network.requestWillBeSent":
        url = params["request"]["url"]
        if not url.startswith(LOCAL_SCHEMES):
            visit.requests.append(url)
    elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        visit.errors.append(
            " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
        )
    elif method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        visit.errors.append(str(details.get("exception", {}).get("description", details["text"])))
    elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
        visit.errors.append(params["entry"]["text"])


def visit_page(page: Path) -> PageVisit:
    """Open ``page`` in a fresh headless chromium and report what it did."""
    with Browser() as browser:
        return browser.visit(page)
