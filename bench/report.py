"""The tables `make bench` prints and writes into docs/performance.md."""

import math
from dataclasses import dataclass, field
from pathlib import Path

from .browser_pages import MODULES, BrowserPageResult
from .load import PhaseResult
from .method import CHANGES, LIMITS, METHOD
from .pages import PageResult
from .streaming_report import (
    before_after_table,
    layers_table,
    saturation_table,
    streaming_headline,
    streaming_table,
    streaming_targets,
)

BEGIN = "<!-- bench:begin (written by `make bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"

# The targets of the issues that asked for this benchmark (the streaming ones:
# bench/streaming_report.py).
IDLE_KB_LIMIT = 100.0
PAGE_MS_LIMIT = 150.0
# The conversation page (issue 15): the latest messages only, whatever the transcript's length.
TRANSCRIPT_MS_LIMITS = {1000: 30.0, 10000: 50.0}
# In Chromium: a 10,000-message conversation readable (its last message shown) this soon.
BROWSER_READABLE_MS = 500.0


@dataclass
class Report:
    context: dict
    phases: list[PhaseResult] = field(default_factory=list)
    # (protocol, path) -> {"k": largest K keeping up, "above": first K that did not, "steps"}
    saturation: dict = field(default_factory=dict)
    layers: list[PhaseResult] = field(default_factory=list)  # Redis rows, one and two processes
    before_after: list[PhaseResult] = field(default_factory=list)
    emitter: dict = field(default_factory=dict)  # the source's own counters (GET /stats)
    idle: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    pages: list[PageResult] = field(default_factory=list)
    browser_pages: list[BrowserPageResult] = field(default_factory=list)

    def all_phases(self) -> list[PhaseResult]:
        steps = [s for found in self.saturation.values() for s in found["steps"]]
        return [*self.phases, *steps, *self.layers, *self.before_after]


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def memory_table(report: Report) -> str:
    idle, memory = report.idle, report.memory
    per = idle["per_connection_kb"]
    return (
        "| measure | value |\n| --- | ---: |\n"
        f"| app server RSS, 0 idle sockets | {idle['rss0_kb'] / 1024:.1f} MB |\n"
        f"| app server RSS, {idle['sockets']:,} idle signed-in sockets "
        f"| {idle['rss1_kb'] / 1024:.1f} MB |\n"
        f"| RSS per idle connection | {per:.1f} KB |\n"
        f"| app server peak RSS (whole run) | {memory['app_peak_kb'] / 1024:.1f} MB |\n"
        f"| emitter (stream source) peak RSS (whole run) "
        f"| {memory['provider_peak_kb'] / 1024:.1f} MB |\n"
    )


def pages_table(report: Report) -> str:
    head = (
        "| page | conversations | messages | median (ms) | max (ms) | SQL queries | bytes |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = [
        f"| {p.label} | {p.conversations:,} | {p.messages:,} | {p.median_ms:.1f} "
        f"| {p.max_ms:.1f} | {p.queries} | {p.bytes:,} |"
        for p in report.pages
    ]
    return head + "\n".join(rows) + "\n"


def browser_pages_table(report: Report) -> str:
    head = (
        "| page | conversations | messages | last item visible, median (ms) | min-max (ms) "
        "| DOM nodes | JS heap (MB) |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = [
        f"| {p.label} | {p.conversations:,} | {p.messages:,} | {p.median_ms:.0f} "
        f"| {p.min_ms:.0f}-{p.max_ms:.0f} | {p.dom_nodes:,} | {p.heap_mb:.1f} |"
        for p in report.browser_pages
    ]
    table = head + "\n".join(rows) + "\n"
    loads = {(p.label, p.messages): p for p in report.browser_pages}
    for p in report.browser_pages:
        before = loads.get((p.label + MODULES, p.messages))
        if before is not None:
            table += (
                f"\nThe module bundle, {p.messages:,} messages, interleaved: "
                f"{before.median_ms:.0f} ms with the modules one by one -> {p.median_ms:.0f} ms "
                f"with the bundle ({p.median_ms / before.median_ms:.2f}x).\n"
            )
    return table


def targets(report: Report) -> list[tuple[str, bool | None, str]]:
    """(target, met?, what was measured)."""
    found = streaming_targets(report)
    if report.idle:
        per = report.idle["per_connection_kb"]
        found.append(
            (
                f"idle memory per connection < {IDLE_KB_LIMIT:.0f} KB",
                per < IDLE_KB_LIMIT,
                f"{per:.1f} KB",
            )
        )
    sidebars = [p for p in report.pages if p.messages == 0]
    if sidebars:
        counts = {p.queries for p in sidebars}
        found.append(
            (
                "chat page queries constant from "
                f"{sidebars[0].conversations:,} to {sidebars[-1].conversations:,} conversations",
                len(counts) == 1,
                " / ".join(str(p.queries) for p in sidebars) + " queries",
            )
        )
        last = sidebars[-1]
        found.append(
            (
                f"chat page < {PAGE_MS_LIMIT:.0f} ms at {last.conversations:,} conversations",
                last.median_ms < PAGE_MS_LIMIT,
                f"{last.median_ms:.1f} ms median",
            )
        )
    transcripts = _transcript_pages(report)
    if transcripts:
        counts = {p.queries for p in transcripts}
        found.append(
            (
                "conversation page queries constant from "
                f"{transcripts[0].messages:,} to {transcripts[-1].messages:,} messages",
                len(counts) == 1,
                " / ".join(str(p.queries) for p in transcripts) + " queries",
            )
        )
        for page in transcripts:
            limit = TRANSCRIPT_MS_LIMITS.get(page.messages)
            if limit is not None:
                found.append(
                    (
                        f"conversation page <= {limit:.0f} ms at {page.messages:,} messages",
                        page.median_ms <= limit,
                        f"{page.median_ms:.1f} ms median, {page.bytes:,} bytes",
                    )
                )
    bundled = [p for p in report.browser_pages if not p.label.endswith(MODULES)]
    longest = max(bundled, key=lambda p: p.messages, default=None)
    if longest is not None and longest.messages:
        found.append(
            (
                f"Chromium: {longest.messages:,}-message conversation readable "
                f"in < {BROWSER_READABLE_MS:.0f} ms",
                longest.median_ms < BROWSER_READABLE_MS,
                f"{longest.median_ms:.0f} ms median, {longest.dom_nodes:,} DOM nodes",
            )
        )
    return found


def _transcript_pages(report: Report) -> list[PageResult]:
    return [p for p in report.pages if p.label.startswith("conversation page")]


def headline(report: Report) -> str:
    """One figure a line, in fixed words, so that a reader and a script find them."""
    lines = streaming_headline(report) + [
        f"conversation page, {p.messages:,} messages: {p.median_ms:.1f} ms, {p.queries} queries"
        for p in _transcript_pages(report)
        if p.messages in TRANSCRIPT_MS_LIMITS
    ]
    return "\n".join(lines) + "\n"


def targets_table(report: Report) -> str:
    mark = {True: "met", False: "**missed**", None: "reported"}
    rows = [f"| {name} | {mark[met]} | {value} |" for name, met, value in targets(report)]
    return "| target | result | measured |\n| --- | --- | --- |\n" + "\n".join(rows) + "\n"


def render(report: Report) -> str:
    c = report.context
    source = report.emitter
    lines = [
        f"Measured {c['date']} by `make bench` ({c['duration_s']:.0f} s), on {c['machine']}.",
        "",
        f"- Source: the emitter (bench/emitter.py) in its own process, {c['tokens']} tokens per "
        f"reply, {c['token_delay'] * 1000:.0f} ms apart ({1 / c['token_delay']:.0f} tokens/s "
        "per reply), every token stamped at emission. It emitted "
        f"{source.get('tokens', 0):,} tokens in {source.get('streams', 0):,} streams; its "
        f"pacer's lag behind schedule was {source.get('max_lag_s', 0) * 1000:.1f} ms at most.",
        f"- Site: Daphne serving the whole site (chat consumer, turn runner, SQLite, in-memory "
        f"channel layer unless a row says Redis), CHAT_BROADCAST_INTERVAL="
        f"{c['broadcast_interval']}, CHAT_REPLY_SAVE_INTERVAL={c['save_interval']}, DEBUG off. "
        "Each client is its own signed-in user starting a new conversation.",
        "- Baseline: chat/bench_relay.py in the same process: the same provider calls through "
        "the same SDK client, each delta sent to the socket as it arrives; no database, "
        "authentication, channel layer or coalescing.",
        f"- Each of K clients sends one message; starts are spread over {c['ramp_s']} s. "
        f"Every row ran {c['repeats']} times, baseline and site interleaved; figures are "
        "medians, ratios per repetition as median (min-max). Added latency: emission -> "
        "receipt of every token. Of offered: delivered tokens/s over what the schedule "
        "offers. CPU: the site's process(es), from /proc, per 1,000 delivered tokens.",
        f"- Load while measuring: load average {c['load_before']} before, {c['load_after']} after. "
        f"CPU used by other processes during the run: {c['others'] or 'none'}.",
        "",
        METHOD,
    ]
    for protocol in sorted({p.protocol for p in report.phases}):
        lines += [f"### Streaming: {protocol}", "", streaming_table(report.phases, protocol)]
    lines += [
        "### Saturation point (largest K delivering 0.95 of the offered tokens/s)",
        "",
        saturation_table(report.saturation) if report.saturation else "(not measured)\n",
        "### Channel layer: Redis against in-memory, two site processes against one",
        "",
        layers_table(report.layers) if report.layers else "(not measured: no redis-server)\n",
    ]
    lines += [CHANGES]
    if report.before_after:
        lines += [before_after_table(report.before_after, c["before"])]
    lines += [
        "### Targets",
        "",
        targets_table(report),
        LIMITS,
        "### Memory",
        "",
        memory_table(report) if report.idle else "(not measured)\n",
        "### Chat page",
        "",
        pages_table(report) if report.pages else "(not measured)\n",
        "### The same pages in Chromium",
        "",
        browser_pages_table(report) if report.browser_pages else "(not measured)\n",
        "### Headline",
        "",
        "```",
        headline(report).rstrip("\n"),
        "```",
        "",
    ]
    return "\n".join(lines)


def write(report: Report, path: Path) -> None:
    body = f"{BEGIN}\n{render(report)}\n{END}"
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            after = rest.split(END, 1)[1]
            path.write_text(before + body + after)
            return
    path.write_text(f"# Performance\n\n{body}\n")
