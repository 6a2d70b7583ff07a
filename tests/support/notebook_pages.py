"""Notebooks as HTML pages in headless Chromium, offline, the way tests/mermaid_check does it.

:func:`browse` renders notebooks with nbconvert's ``lab`` template, serves the pages, the
pinned mermaid (``tests/mermaid_check/node_modules``, as the ES module nbconvert's pages
import) and nothing else from ``http.server`` on 127.0.0.1, and opens the first page in one
Chromium with a fresh profile. A script added to each page waits until mermaid has drawn the
page's mermaid blocks, reports what every cell shows (irgraph's diagram nodes and timeline
bars that are laid out on the page, Graphviz nodes, the nodes of each mermaid picture and
whether its image decoded) and goes on to the next page. A content security policy keeps the
pages to their own origin, and Chromium's host resolver maps every other name to nothing.

:func:`screenshots` draws the run views of notebook 06 (as stored) into PNGs for the docs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.mermaid_check import harness

MERMAID_DIST = harness.BUNDLE.parent
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'"
)

REPORT = """
<script type="module">
const drawn = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const decoded = (img) => img.complete && img.naturalWidth > 0;
function svgOf(img) {
  const src = img.getAttribute("src") || "";
  const comma = src.indexOf(",");
  const body = src.slice(comma + 1);
  const text = src.slice(0, comma).endsWith(";base64") ? atob(body) : decodeURIComponent(body);
  return new DOMParser().parseFromString(text, "image/svg+xml");
}
async function settled() {
  const pending = () => [...document.querySelectorAll(".jp-Mermaid")]
    .some((b) => !b.classList.contains("jp-RenderedMermaid"));
  while (pending()) await new Promise((r) => setTimeout(r, 50));
  for (const img of document.images) if (!img.complete) await img.decode().catch(() => null);
}
async function report() {
  await settled();
  const cells = [];
  for (const cell of document.querySelectorAll(".jp-CodeCell")) {
    const tag = [...cell.classList].find((c) => c.startsWith("celltag_"));
    const area = cell.querySelector(".jp-OutputArea");
    const found = { tag: tag ? tag.slice(8) : null, nodes: 0, bars: 0, dot: 0, statuses: [],
                    images: 0, broken: 0, mermaid: [] };
    if (area) {
      for (const g of area.querySelectorAll("svg g.node[data-status]")) {
        if (drawn(g)) { found.nodes += 1; found.statuses.push(g.dataset.status); }
      }
      found.bars = [...area.querySelectorAll("svg g.bar")].filter(drawn).length;
      for (const img of area.querySelectorAll(".jp-RenderedSVG img, .jp-RenderedImage img")) {
        found.images += 1;
        if (!decoded(img) || !drawn(img)) { found.broken += 1; continue; }
        const svg = svgOf(img);
        found.nodes += svg.querySelectorAll("g.node[data-status]").length;
        found.bars += svg.querySelectorAll("g.bar").length;
        found.dot += svg.querySelectorAll("g.node:not([data-status])").length;
      }
      for (const block of area.querySelectorAll(".jp-Mermaid")) {
        const img = block.querySelector("figure img");
        const failed = block.querySelector("details");
        found.mermaid.push(img && decoded(img) && drawn(img)
          ? { ok: true, nodes: svgOf(img).querySelectorAll("g.node").length }
          : { ok: false, error: failed ? failed.textContent : "not drawn" });
      }
    }
    cells.push(found);
  }
  const answer = await fetch("/result", { method: "POST", body: JSON.stringify(
    { page: location.pathname, cells }) });
  const next = await answer.text();
  if (next) location.href = next;
}
window.addEventListener("load", () => { report(); });
</script>
"""


def page_html(nb: Any) -> str:
    """A notebook as nbconvert's ``lab`` HTML, importing mermaid from this page's server,
    with no other script from elsewhere, a content security policy and the report script."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.mermaid_js_url = "/mermaid/mermaid.esm.min.mjs"
    exporter.mermaid_layout_elk_js_url = ""
    exporter.require_js_url = "/empty.js"
    exporter.mathjax_url = "/empty.js"
    body, _ = exporter.from_notebook_node(nb)
    head = f'<head>\n<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    return body.replace("<head>", head, 1).replace("</body>", REPORT + "</body>", 1)


def _chromium() -> str:
    chromium = harness.find_chromium()
    if chromium is None:
        raise harness.HarnessUnavailable("Chromium is not installed (apt-get install -y chromium).")
    harness.ensure_bundle()
    return chromium


class _Site:
    """Pages and the mermaid bundle on 127.0.0.1; collects what the pages report."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.files = {f"/{name}.html": page.encode("utf-8") for name, page in pages.items()}
        self.files["/empty.js"] = b""
        self.order = list(self.files)[:-1]
        self.reports: dict[str, Any] = {}
        self.done = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.files.get(self.path)
                if body is None and self.path.startswith("/mermaid/"):
                    body = site.mermaid_file(self.path.removeprefix("/mermaid/"))
                if body is None:
                    self.send_error(404)
                    return
                kind = "text/html" if self.path.endswith(".html") else "text/javascript"
                self.reply(body, f"{kind}; charset=utf-8")

            def do_POST(self) -> None:
                posted = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                site.reports[posted["page"].strip("/").removesuffix(".html")] = posted["cells"]
                at = site.order.index(posted["page"]) + 1
                self.reply(site.order[at].encode() if at < len(site.order) else b"", "text/plain")
                if at == len(site.order):
                    site.done.set()

            def reply(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def mermaid_file(relative: str) -> bytes | None:
        path = (MERMAID_DIST / relative).resolve()
        if MERMAID_DIST.resolve() not in path.parents or path.suffix not in (".mjs", ".js"):
            return None
        return path.read_bytes() if path.is_file() else None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def browse(notebooks: dict[str, Any], timeout: float = 180.0) -> dict[str, list[dict[str, Any]]]:
    """Open each notebook's page in headless Chromium; return each page's cell reports."""
    chromium = _chromium()
    site = _Site({name: page_html(nb) for name, nb in notebooks.items()})
    profile = tempfile.mkdtemp(prefix="irgraph-chromium-")
    browser = subprocess.Popen(
        [chromium, *harness.CHROMIUM_FLAGS, f"--user-data-dir={profile}", site.url + site.order[0]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not site.done.wait(timeout):
            raise TimeoutError(
                f"Chromium reported {sorted(site.reports)} of {len(notebooks)} pages within "
                f"{timeout} s (exit code {browser.poll()!r})."
            )
    finally:
        harness._stop(browser)
        site.close()
        shutil.rmtree(profile, ignore_errors=True)
    return site.reports


def screenshot(html: str, path: Path, width: int = 1920, height: int = 900) -> Path:
    """A PNG of ``html`` (a page of its own, nothing loaded from elsewhere) as Chromium draws
    it at ``width`` x ``height``."""
    chromium = _chromium()
    page = "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv="
    page += f'"Content-Security-Policy" content="{CSP}"></head><body style="margin:12px">'
    site = _Site({"view": page + html + "</body></html>"})
    profile = tempfile.mkdtemp(prefix="irgraph-chromium-")
    try:
        subprocess.run(
            [
                *(chromium, *harness.CHROMIUM_FLAGS, f"--user-data-dir={profile}"),
                *(f"--screenshot={path}", f"--window-size={width},{height}"),
                *("--hide-scrollbars", site.url + "/view.html"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )
    finally:
        site.close()
        shutil.rmtree(profile, ignore_errors=True)
    return path


#: The docs' screenshots: the cell of notebook 06 whose stored view each shows, and its height.
SHOTS = {"run_view": ("result", 940), "run_failed": ("failed-view", 820),
         "run_resumed": ("resumed", 820)}  # fmt: skip


def stored_view(nb: Any, tag: str) -> str:
    """The HTML a cell of a stored notebook displays."""
    (cell,) = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", ())]
    (html,) = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    return str(html)


def screenshots(folder: Path) -> list[Path]:
    """Write the run views of notebook 06 as PNGs in ``folder``."""
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[2] / "notebooks" /
                       "06_what_a_run_did.ipynb", as_version=4)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    return [
        screenshot(stored_view(nb, tag), folder / f"{name}.png", height=height)
        for name, (tag, height) in SHOTS.items()
    ]
