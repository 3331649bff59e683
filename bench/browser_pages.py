"""The same pages in headless Chromium, served by Daphne: how long until the last message (or
the first sidebar row) is visible, how many DOM nodes the page holds and how much JS heap it
uses. What a reader waits for, beside the server-side time in bench/pages.py."""

import statistics
from dataclasses import dataclass
from pathlib import Path

from .servers import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPEATS = 3

# Runs before the page's scripts: stamps the first animation frame at which `selector`'s last
# element exists, is laid out and holds `text` (performance.now(): ms since navigation began).
WATCH = """
(() => {
  const [selector, text] = %s;
  const look = () => {
    const items = document.querySelectorAll(selector);
    const last = items[items.length - 1];
    if (last && last.getClientRects().length && last.textContent.includes(text)) {
      window.__visibleAt = performance.now();
      return;
    }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


@dataclass
class BrowserPageResult:
    label: str
    conversations: int
    messages: int
    median_ms: float
    min_ms: float
    max_ms: float
    dom_nodes: int
    heap_mb: float


@dataclass
class BrowserTarget:
    """A page to open: what to wait for on it."""

    label: str
    conversations: int
    messages: int
    path: str
    selector: str
    text: str


def targets_for(pages) -> list[BrowserTarget]:
    """The biggest sidebar and every transcript of bench/pages.py's results."""
    sidebars = [p for p in pages if p.messages == 0]
    transcripts = [p for p in pages if p.label.startswith("conversation page")]
    targets = []
    if sidebars:
        biggest = sidebars[-1]
        targets.append(
            BrowserTarget(
                "chat page (sidebar)", biggest.conversations, 0, biggest.path, ".conv", ""
            )
        )
    targets += [
        BrowserTarget(
            "conversation page (transcript)",
            p.conversations,
            p.messages,
            p.path,
            "#messages li.msg",
            "",
        )
        for p in transcripts
    ]
    return targets


def available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def measure_pages(
    targets: list[BrowserTarget], *, cookie: str, env: dict, work: Path
) -> list[BrowserPageResult]:
    import json

    from playwright.sync_api import sync_playwright

    server = Server("pages", env, work).start()
    base = f"http://127.0.0.1:{server.port}"
    name, _, value = cookie.partition("=")
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            for target in targets:
                timings, nodes, heaps = [], [], []
                # One warm-up (template and static caches), then the measured loads.
                for attempt in range(REPEATS + 1):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    context.add_cookies([{"name": name, "value": value, "url": base}])
                    page = context.new_page()
                    page.add_init_script(WATCH % json.dumps([target.selector, target.text]))
                    cdp = context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    page.goto(base + target.path, wait_until="commit")
                    page.wait_for_function("() => window.__visibleAt !== undefined", timeout=60_000)
                    if attempt:
                        timings.append(page.evaluate("window.__visibleAt"))
                        nodes.append(page.evaluate("document.getElementsByTagName('*').length"))
                        metrics = cdp.send("Performance.getMetrics")["metrics"]
                        heap = next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize")
                        heaps.append(heap / 1024 / 1024)
                    context.close()
                results.append(
                    BrowserPageResult(
                        label=target.label,
                        conversations=target.conversations,
                        messages=target.messages,
                        median_ms=statistics.median(timings),
                        min_ms=min(timings),
                        max_ms=max(timings),
                        dom_nodes=int(statistics.median(nodes)),
                        heap_mb=statistics.median(heaps),
                    )
                )
            browser.close()
    finally:
        server.stop()
    return results
