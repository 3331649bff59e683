"""The tables `make bench` prints and writes into docs/performance.md."""

import math
from dataclasses import dataclass, field
from pathlib import Path

from .browser_pages import BrowserPageResult
from .load import PhaseResult
from .pages import PageResult

BEGIN = "<!-- bench:begin (written by `make bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"

# The targets of the issue that asked for this benchmark.
TARGET_K = 200
MIN_THROUGHPUT_RATIO = 0.9
MAX_P99_RATIO = 1.5
P99_LIMIT_MS = 100.0
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
    search: list[PhaseResult] = field(default_factory=list)  # app only, bisecting for K
    idle: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    pages: list[PageResult] = field(default_factory=list)
    browser_pages: list[BrowserPageResult] = field(default_factory=list)


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "-"
    return f"{a / b:.2f}x"


def _pairs(report: Report) -> list[tuple[int, PhaseResult | None, PhaseResult | None]]:
    ks = sorted({p.clients for p in report.phases})
    by = {(p.kind, p.clients): p for p in report.phases}
    return [(k, by.get(("app", k)), by.get(("baseline", k))) for k in ks]


def streaming_table(report: Report) -> str:
    head = (
        "| K | path | added latency p50 / p99 (ms) | first token p50 / p99 (ms) | deltas/s "
        "| replies completed | errors | lost deltas | CPU s: app server / provider |\n"
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = []
    for k, app, base in _pairs(report):
        for phase in (base, app):
            if phase is None:
                continue
            rows.append(
                f"| {k} | {phase.kind} | {_ms(phase.latency(0.5))} / {_ms(phase.latency(0.99))} "
                f"| {_ms(phase.first_token(0.5))} / {_ms(phase.first_token(0.99))} "
                f"| {phase.deltas_per_s:,.0f} | {phase.completed}/{phase.clients} "
                f"| {phase.errors} | {phase.lost_tokens + phase.bad_transcripts} "
                f"| {phase.server_cpu_s:.1f} / {phase.provider_cpu_s:.1f} |"
            )
        if app and base:
            rows.append(
                f"| {k} | **app/baseline** "
                f"| {_ratio(app.latency(0.5), base.latency(0.5))} / "
                f"{_ratio(app.latency(0.99), base.latency(0.99))} "
                f"| {_ratio(app.first_token(0.5), base.first_token(0.5))} / "
                f"{_ratio(app.first_token(0.99), base.first_token(0.99))} "
                f"| {_ratio(app.deltas_per_s, base.deltas_per_s)} | | | "
                f"| {_ratio(app.server_cpu_s, base.server_cpu_s)} |"
            )
    return head + "\n".join(rows) + "\n"


def search_table(report: Report) -> str:
    head = (
        "| K | added latency p50 / p99 (ms) | first token p50 (ms) | deltas/s | completed "
        "| errors |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = [
        f"| {p.clients} | {_ms(p.latency(0.5))} / {_ms(p.latency(0.99))} "
        f"| {_ms(p.first_token(0.5))} | {p.deltas_per_s:,.0f} | {p.completed}/{p.clients} "
        f"| {p.errors} |"
        for p in report.search
    ]
    return head + "\n".join(rows) + "\n"


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
        f"| provider server peak RSS (whole run) | {memory['provider_peak_kb'] / 1024:.1f} MB |\n"
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
    return head + "\n".join(rows) + "\n"


def targets(report: Report) -> list[tuple[str, bool | None, str]]:
    """(target, met?, what was measured)."""
    found = []
    by = {(p.kind, p.clients): p for p in report.phases}
    app, base = by.get(("app", TARGET_K)), by.get(("baseline", TARGET_K))
    if app and base:
        ratio = app.deltas_per_s / base.deltas_per_s if base.deltas_per_s else 0.0
        found.append(
            (
                f"K={TARGET_K}: app deltas/s >= {MIN_THROUGHPUT_RATIO}x baseline",
                ratio >= MIN_THROUGHPUT_RATIO,
                f"{ratio:.2f}x ({app.deltas_per_s:,.0f} vs {base.deltas_per_s:,.0f})",
            )
        )
        p99 = app.latency(0.99) / base.latency(0.99)
        found.append(
            (
                f"K={TARGET_K}: app p99 added latency <= {MAX_P99_RATIO}x baseline",
                p99 <= MAX_P99_RATIO,
                f"{p99:.2f}x ({_ms(app.latency(0.99))} vs {_ms(base.latency(0.99))} ms)",
            )
        )
        broken = app.errors + app.lost_tokens + app.bad_transcripts
        found.append(
            (
                f"K={TARGET_K}: zero errors and zero lost deltas (app)",
                broken == 0 and app.completed == app.clients,
                f"{app.errors} errors, {app.lost_tokens} lost deltas, "
                f"{app.bad_transcripts} transcripts unlike the provider's text",
            )
        )
    apps = [p for p in report.phases + report.search if p.kind == "app"]
    under = [p for p in apps if p.latency(0.99) < P99_LIMIT_MS and p.errors == 0]
    over = [p for p in apps if not (p.latency(0.99) < P99_LIMIT_MS and p.errors == 0)]
    largest = max(under, key=lambda p: p.clients, default=None)
    above = [p for p in over if largest is None or p.clients > largest.clients]
    first_over = min(above, key=lambda p: p.clients, default=None)
    measured = (
        "none of the K measured"
        if largest is None
        else (f"K={largest.clients} (p99 {_ms(largest.latency(0.99))} ms)")
    )
    if first_over is not None:
        measured += f"; K={first_over.clients} misses (p99 {_ms(first_over.latency(0.99))} ms)"
    found.append((f"largest K with app p99 < {P99_LIMIT_MS:.0f} ms (reported)", None, measured))
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
    longest = max(report.browser_pages, key=lambda p: p.messages, default=None)
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
    lines = [
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
    lines = [
        f"Measured {c['date']} by `make bench` ({c['duration_s']:.0f} s), on {c['machine']}.",
        "",
        f"- Provider stream: the local provider in its own Daphne process, "
        f"{c['token_delay'] * 1000:.0f} ms per token ({1 / c['token_delay']:.0f} tokens/s per "
        f"reply), {c['tokens']} tokens per reply, every token stamped with its emission time.",
        f"- App: Daphne serving the site, chat consumer, turn runner, SQLite, in-memory channel "
        f"layer, CHAT_BROADCAST_INTERVAL={c['broadcast_interval']}, "
        f"CHAT_REPLY_SAVE_INTERVAL={c['save_interval']}, DEBUG off.",
        "- Baseline: chat/bench_relay.py in the same app process: the same SDK stream relayed "
        "to the socket per delta; no database, auth, channel layer or coalescing.",
        f"- Each of K clients sends one message; starts are spread over {c['ramp_s']} s. Added "
        "latency: provider emission -> client receipt, per token (inside coalesced frames too). "
        "Deltas/s: tokens delivered to all clients / (last receipt - first send). "
        "Lost deltas: tokens missing from the text rebuilt from the live frames, plus replies "
        "whose rebuilt, final or saved text differs from `localai.engine.model.reply_text`.",
        f"- Load while measuring: load average {c['load_before']} before, {c['load_after']} after. "
        f"CPU used by other processes during the run: {c['others'] or 'none'}.",
        "",
        "### Streaming",
        "",
        streaming_table(report),
        "### Largest K under 100 ms (app, bisection after the table above)",
        "",
        search_table(report) if report.search else "(no bisection needed)\n",
        "### Targets",
        "",
        targets_table(report),
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
