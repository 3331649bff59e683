"""The same pages in headless Chromium, served by Daphne: how long until the last message (or
the first sidebar row) is visible, how many DOM nodes the page holds and how much JS heap it
uses. What a reader waits for, beside the server-side time in bench/pages.py.

The pages load the chat page's module bundle (static/chat/dist/, what a site with DEBUG off
serves). The longest transcript is also loaded with the modules one by one
(CHAT_JS_BUNDLE=false, what the page did before the bundle), the two loads interleaved
on two servers over one database: the bundle's gain as a before -> after of one run."""

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
MODULES = ", modules one by one"  # the label's tail of the load without the bundle

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


def _load(browser, base: str, cookie: str, target: BrowserTarget):
    """One fresh load of `target`: (visible at ms, DOM nodes, JS heap MB)."""
    import json

    name, _, value = cookie.partition("=")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_cookies([{"name": name, "value": value, "url": base}])
        page = context.new_page()
        page.add_init_script(WATCH % json.dumps([target.selector, target.text]))
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(base + target.path, wait_until="commit")
        page.wait_for_function("() => window.__visibleAt !== undefined", timeout=60_000)
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        heap = next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize")
        return (
            page.evaluate("window.__visibleAt"),
            page.evaluate("document.getElementsByTagName('*').length"),
            heap / 1024 / 1024,
        )
    finally:
        context.close()


def _result(label: str, target: BrowserTarget, loads: list[tuple]) -> BrowserPageResult:
    timings = [load[0] for load in loads]
    return BrowserPageResult(
        label=label,
        conversations=target.conversations,
        messages=target.messages,
        median_ms=statistics.median(timings),
        min_ms=min(timings),
        max_ms=max(timings),
        dom_nodes=int(statistics.median(load[1] for load in loads)),
        heap_mb=statistics.median(load[2] for load in loads),
    )


def measure_pages(
    targets: list[BrowserTarget], *, cookie: str, env: dict, work: Path
) -> list[BrowserPageResult]:
    from playwright.sync_api import sync_playwright

    bundled = Server("pages", {**env, "CHAT_JS_BUNDLE": "true"}, work).start()
    modules = Server("pages-modules", {**env, "CHAT_JS_BUNDLE": "false"}, work)
    servers = {"": bundled}
    results = []
    try:
        longest = max(targets, key=lambda t: t.messages, default=None)
        if longest is not None and longest.messages:
            servers[MODULES] = modules.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            for target in targets:
                variants = list(servers) if target is longest else [""]
                loads = {variant: [] for variant in variants}
                # One warm-up each (template and static caches), then the measured loads,
                # the variants taking turns.
                for attempt in range(REPEATS + 1):
                    for variant in variants:
                        base = f"http://127.0.0.1:{servers[variant].port}"
                        load = _load(browser, base, cookie, target)
                        if attempt:
                            loads[variant].append(load)
                results += [
                    _result(target.label + variant, target, loads[variant]) for variant in variants
                ]
            browser.close()
    finally:
        bundled.stop()
        if modules.process is not None:
            modules.stop()
    return results
