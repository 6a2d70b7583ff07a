"""Render mermaid diagrams with the real mermaid, in headless Chromium, offline.

:func:`render_all` serves ``render.html``, the pinned ``mermaid.min.js`` (from this folder's
``node_modules``, installed from ``package-lock.json``) and the diagrams as JSON from a
``http.server`` bound to 127.0.0.1 on a free port, starts Chromium on that page with a fresh
profile, waits for the page to post its results, then stops Chromium and the server. The page
calls ``mermaid.parse`` and ``mermaid.render`` on each diagram and reports the error, or the
texts of the drawn labels. Chromium's host resolver maps every name to nothing and the page's
content security policy allows only its own origin, so nothing reaches the network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BUNDLE = HERE / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
PAGE = HERE / "render.html"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


class HarnessUnavailable(RuntimeError):
    """Chromium or the mermaid bundle is missing; the message says how to get it."""


def find_chromium() -> str | None:
    """The Chromium executable on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_bundle() -> Path:
    """Return the mermaid bundle, installing the pinned package with ``npm ci`` if needed."""
    if BUNDLE.exists():
        return BUNDLE
    npm = shutil.which("npm")
    if npm is None:
        raise HarnessUnavailable(
            f"{BUNDLE} is missing and npm is not installed; run npm ci in {HERE}."
        )
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not BUNDLE.exists():
        raise HarnessUnavailable(f"npm ci in {HERE} failed:\n{done.stdout}\n{done.stderr}")
    return BUNDLE


def render_all(diagrams: list[str], timeout: float = 120.0) -> dict[str, Any]:
    """Render ``diagrams`` in Chromium; return ``{"fatal", "version", "results"}`` where each
    result is ``{"ok": True, "labels": [...], "boxes": [...], "title": ..., "width": ...}``
    (the drawn label texts; each node, box and arrow label as ``{"kind", "text", "width",
    "html"}``, its width in pixels; the front-matter title as ``{"text", "width"}`` or
    ``None``; the picture's width in pixels) or ``{"ok": False, "error": "..."}``."""
    chromium = find_chromium()
    if chromium is None:
        raise HarnessUnavailable("Chromium is not installed (apt-get install -y chromium).")
    bundle = ensure_bundle().read_bytes()
    files = {
        "/render.html": ("text/html; charset=utf-8", PAGE.read_bytes()),
        "/mermaid.min.js": ("text/javascript; charset=utf-8", bundle),
        "/diagrams.json": ("application/json", json.dumps(diagrams).encode("utf-8")),
    }
    posted: dict[str, Any] = {}
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(self.path)
            if found is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            self.wfile.write(found[1])

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/result":
                posted.update(json.loads(body))
                arrived.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    profile = tempfile.mkdtemp(prefix="irgraph-chromium-")
    url = f"http://127.0.0.1:{server.server_address[1]}/render.html"
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        if not arrived.wait(timeout):
            raise TimeoutError(
                f"Chromium did not report within {timeout} s (exit code {browser.poll()!r})."
            )
    finally:
        _stop(browser)
        server.shutdown()
        server.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    return posted


def _stop(browser: subprocess.Popen[bytes]) -> None:
    """Stop the Chromium we started and its helper processes (its own session)."""
    if browser.poll() is None:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait(10)
    try:
        os.killpg(browser.pid, signal.SIGKILL)  # helpers left in the session we created
    except (ProcessLookupError, PermissionError):
        pass
    if browser.stderr is not None:
        browser.stderr.close()
