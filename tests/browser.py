"""Headless Chromium driven over the DevTools protocol: a page laid out at a given width, measured
with JavaScript and photographed.

`--window-size` is not enough for a phone: Chromium's windows are at least 500 px wide, so a page
"at 390 px" would be laid out at 500. Device-metrics emulation sets the layout width itself.

The report's rendering test uses this, and so does `make screenshot`:

    python -m tests.browser PAGE.html OUT.png [--width 1280] [--height 1400] [--until SELECTOR]
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
]  # fmt: skip


class Browser:
    """One headless Chromium with one page; `with Browser() as b: b.open(url, 390)`."""

    def __init__(self, binary: str | None = None, timeout: float = 60.0) -> None:
        found = binary or shutil.which("chromium") or shutil.which("chromium-browser")
        if found is None:
            raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
        self.timeout = timeout
        self.errors: list[str] = []  # console errors, uncaught exceptions, CSP violations
        self._ids = itertools.count(1)
        self._profile = tempfile.TemporaryDirectory(prefix="newslake-chromium-")
        self._proc = subprocess.Popen(
            [found, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._ws = self._page_socket()
        except BaseException:
            self.close()
            raise
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def _page_socket(self) -> ClientConnection:
        active = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode} before it listened")
            text = active.read_text() if active.exists() else ""
            if text.count("\n") >= 1:
                port = int(text.split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=self.timeout)
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.05)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result; events that arrive meanwhile are noted."""
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = self._next()
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def _next(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self._ws.recv(timeout=self.timeout))
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(
                str(params.get("exceptionDetails", {}).get("exception", {}).get("description"))
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append(str(params["entry"].get("text")))
        return message

    def open(self, url: str, width: int, height: int = 900) -> None:
        """Load url laid out width CSS pixels wide (a phone's metrics below 600), and wait for load."""
        self.resize(width, height)
        self.send("Page.navigate", url=url)
        while self._next().get("method") != "Page.loadEventFired":
            pass

    def resize(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}…: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path: Path, height: int | None = None) -> None:
        """A PNG of the page's top `height` pixels at the current width (default: the whole page)."""
        width, full = self.evaluate("[innerWidth, document.documentElement.scrollHeight]")
        shown = min(full, height) if height else full
        data = self.send(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": shown, "scale": 1},
        )["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot an HTML page in headless Chromium.")
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=None, help="Top pixels kept (default: the whole page).")
    parser.add_argument("--until", help="CSS selector: keep the page down to this element's bottom.")
    args = parser.parse_args()
    with Browser() as browser:
        browser.open(args.page.resolve().as_uri(), args.width)
        height = args.height
        if args.until:
            bottom = browser.evaluate(
                f"document.querySelector({json.dumps(args.until)}).getBoundingClientRect().bottom"
            )
            height = min(height or 10**6, int(bottom) + 16)
        browser.screenshot(args.out, height)
        if browser.errors:
            raise SystemExit(f"the page logged errors: {browser.errors}")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {args.width} px wide)")


if __name__ == "__main__":
    main()
