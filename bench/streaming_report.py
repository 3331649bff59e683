"""The streaming tables, targets and headline lines of `make bench` (bench/streaming.py).

Every figure of a row is the median of its repetitions; a ratio is taken per repetition
(site and baseline measured next to each other) and shown as its median and min-max.
"""

import math
import statistics

from .load import PhaseResult
from .streaming import SATURATION_DELIVERY, SOURCE_SHARE_LIMIT, by_k

# The targets of issue 15.
TARGET_K = 200
MAX_CPU_RATIO = 1.15
MAX_P99_RATIO = 1.25
P99_COUNTS_BELOW_MS = 500.0  # p99 ratios count where the baseline's p99 is under this
MIN_SATURATION_RATIO = 0.9
MAX_REDIS_CPU_RATIO = 1.3
MIN_TWO_PROCESS_RATIO = 1.6


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def median(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def ratios(pairs) -> list[float]:
    return [a / b for a, b in pairs if b and not math.isnan(a) and not math.isnan(b)]


def spread(values: list[float]) -> str:
    """`1.08x (1.02-1.13)`: median and min-max of per-repetition ratios."""
    if not values:
        return "-"
    return f"{median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def paired(phases, protocol: str, k: int, measure) -> list[float]:
    """measure(site) / measure(baseline), per repetition."""
    site = {
        p.repetition: p for p in phases if (p.protocol, p.clients, p.kind) == (protocol, k, "app")
    }
    base = {
        p.repetition: p
        for p in phases
        if (p.protocol, p.clients, p.kind) == (protocol, k, "baseline")
    }
    return ratios((measure(site[r]), measure(base[r])) for r in sorted(site) if r in base)


def p99(phase: PhaseResult) -> float:
    return phase.latency(0.99)


def cpu(phase: PhaseResult) -> float:
    return phase.cpu_per_1000_tokens


def _broken(group: list[PhaseResult]) -> int:
    return sum(p.errors + p.lost_tokens + p.bad_transcripts for p in group)


def streaming_table(phases: list[PhaseResult], protocol: str) -> str:
    head = (
        "| K | path | added latency p50 / p99 (ms) | first token p50 (ms) | tokens/s "
        "| of offered | CPU s / 1,000 tokens | source (cores) | errors + lost |\n"
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = []
    for k in sorted(by_k(phases, protocol=protocol)):
        for kind, label in (("baseline", "baseline"), ("app", "site")):
            group = by_k(phases, protocol=protocol, kind=kind).get(k, [])
            if not group:
                continue
            rows.append(
                f"| {k} | {label} | {_ms(median(p.latency(0.5) for p in group))} / "
                f"{_ms(median(p99(p) for p in group))} "
                f"| {_ms(median(p.first_token(0.5) for p in group))} "
                f"| {median(p.deltas_per_s for p in group):,.0f} "
                f"| {median(p.delivery for p in group):.2f} "
                f"| {median(cpu(p) for p in group):.3f} "
                f"| {max(p.source_share for p in group):.2f} | {_broken(group)} |"
            )
        rows.append(
            f"| {k} | **site/baseline** | p99 {spread(paired(phases, protocol, k, p99))} | "
            f"| {spread(paired(phases, protocol, k, lambda p: p.deltas_per_s))} | "
            f"| {spread(paired(phases, protocol, k, cpu))} | | |"
        )
    return head + "\n".join(rows) + "\n"


def saturation_table(saturation: dict) -> str:
    head = (
        "| protocol | baseline K | site K | site/baseline | bisection steps (K: of offered) |\n"
        "| --- | ---: | ---: | ---: | --- |\n"
    )
    rows = []
    for protocol in sorted({p for p, _ in saturation}):
        base, site = saturation[(protocol, "baseline")], saturation[(protocol, "app")]
        steps = "; ".join(
            f"{kind} {s.clients}: {s.delivery:.2f}"
            for kind in ("baseline", "app")
            for s in saturation[(protocol, kind)]["steps"]
        )
        rows.append(
            f"| {protocol} | {_k(base)} | {_k(site)} "
            f"| {site['k'] / base['k'] if base['k'] else float('nan'):.2f}x | {steps or '-'} |"
        )
    return head + "\n".join(rows) + "\n"


def _k(found: dict) -> str:
    return f"{found['k']}" if found["above"] is not None else f">= {found['k']}"


def layers_table(layers: list[PhaseResult]) -> str:
    head = (
        "| protocol | rows | K | tokens/s | CPU s / 1,000 tokens | p99 (ms) | ratio "
        "(median, min-max) | errors + lost |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n"
    )
    rows = []
    for protocol, first, second, measure, what in _layer_pairs(layers):
        a = [p for p in layers if (p.protocol, p.layer) == (protocol, first)]
        b = [p for p in layers if (p.protocol, p.layer) == (protocol, second)]
        values = _layer_ratios(a, b, measure)
        for group, label in ((a, first), (b, second)):
            rows.append(
                f"| {protocol} | {label} | {group[0].clients} "
                f"| {median(p.deltas_per_s for p in group):,.0f} "
                f"| {median(cpu(p) for p in group):.3f} | {_ms(median(p99(p) for p in group))} "
                f"| | {_broken(group)} |"
            )
        rows.append(f"| {protocol} | **{second} / {first}** | | | | | {what} {spread(values)} | |")
    return head + "\n".join(rows) + "\n"


def _layer_pairs(layers):
    protocols = sorted({p.protocol for p in layers if p.layer == "redis"})
    for protocol in protocols:
        yield protocol, "memory", "redis", cpu, "CPU per token"
    two = sorted({p.layer for p in layers if p.layer.startswith("redis x2")})
    for layer in two:
        k = layer.split("K=")[1]
        protocol = next(p.protocol for p in layers if p.layer == layer)
        yield protocol, f"redis K={k}", layer, lambda p: p.deltas_per_s, "tokens/s"


def _layer_ratios(a, b, measure) -> list[float]:
    by_a = {p.repetition: p for p in a}
    return ratios((measure(p), measure(by_a[p.repetition])) for p in b if p.repetition in by_a)


def before_after_table(phases: list[PhaseResult], before: str) -> str:
    head = (
        f"| protocol | K | CPU s / 1,000 tokens, before ({before}) | after | after/before "
        "| p99 before / after (ms) |\n| --- | ---: | ---: | ---: | --- | ---: |\n"
    )
    rows = []
    for protocol in sorted({p.protocol for p in phases}):
        a = [p for p in phases if (p.protocol, p.layer) == (protocol, "before")]
        b = [p for p in phases if (p.protocol, p.layer) == (protocol, "after")]
        rows.append(
            f"| {protocol} | {a[0].clients} | {median(cpu(p) for p in a):.3f} "
            f"| {median(cpu(p) for p in b):.3f} | {spread(_layer_ratios(a, b, cpu))} "
            f"| {_ms(median(p99(p) for p in a))} / {_ms(median(p99(p) for p in b))} |"
        )
    return head + "\n".join(rows) + "\n"


# --- Targets and headline ----------------------------------------------------------------


def cpu_ratio_at_target(phases) -> dict[str, list[float]]:
    protocols = sorted({p.protocol for p in phases})
    return {protocol: paired(phases, protocol, TARGET_K, cpu) for protocol in protocols}


def worst_p99(phases) -> tuple[float, int, str] | None:
    """The largest median p99 ratio over every protocol and K where it counts."""
    worst = None
    for protocol in sorted({p.protocol for p in phases}):
        for k, group in by_k(phases, protocol=protocol, kind="baseline").items():
            if median(p99(p) for p in group) >= P99_COUNTS_BELOW_MS:
                continue
            values = paired(phases, protocol, k, p99)
            if values and (worst is None or median(values) > worst[0]):
                worst = (median(values), k, protocol)
    return worst


def worst_saturation(saturation: dict) -> tuple[int, int, str] | None:
    worst = None
    for protocol in sorted({p for p, _ in saturation}):
        site, base = saturation[(protocol, "app")]["k"], saturation[(protocol, "baseline")]["k"]
        ratio = site / base if base else 0.0
        if worst is None or ratio < worst[0]:
            worst = (ratio, site, base, protocol)
    return worst and worst[1:]


def streaming_targets(report) -> list[tuple[str, bool | None, str]]:
    phases, found = report.phases, []
    for protocol, values in cpu_ratio_at_target(phases).items():
        if values:
            found.append(
                (
                    f"{protocol}, K={TARGET_K}: CPU per token <= {MAX_CPU_RATIO}x baseline",
                    median(values) <= MAX_CPU_RATIO,
                    spread(values),
                )
            )
    worst = worst_p99(phases)
    if worst:
        found.append(
            (
                f"p99 added latency <= {MAX_P99_RATIO}x baseline wherever the baseline's p99 "
                f"< {P99_COUNTS_BELOW_MS:.0f} ms",
                worst[0] <= MAX_P99_RATIO,
                f"worst {worst[0]:.2f}x at K={worst[1]} ({worst[2]})",
            )
        )
    for (protocol, kind), sat in sorted(report.saturation.items()):
        if kind != "app":
            continue
        base = report.saturation[(protocol, "baseline")]["k"]
        ratio = sat["k"] / base if base else 0.0
        found.append(
            (
                f"{protocol}: saturation K of the site >= {MIN_SATURATION_RATIO}x the baseline's "
                f"(>= {SATURATION_DELIVERY} of the offered tokens/s)",
                ratio >= MIN_SATURATION_RATIO,
                f"{sat['k']} / {base} = {ratio:.2f}x",
            )
        )
    for protocol, first, second, measure, _ in _layer_pairs(report.layers):
        a = [p for p in report.layers if (p.protocol, p.layer) == (protocol, first)]
        b = [p for p in report.layers if (p.protocol, p.layer) == (protocol, second)]
        values = _layer_ratios(a, b, measure)
        if second == "redis":
            name, met = (
                f"{protocol}: Redis layer CPU per token <= {MAX_REDIS_CPU_RATIO}x in-memory",
                (median(values) <= MAX_REDIS_CPU_RATIO),
            )
        else:
            name = f"{protocol}: two site processes >= {MIN_TWO_PROCESS_RATIO}x one's tokens/s"
            met = median(values) >= MIN_TWO_PROCESS_RATIO
        found.append((name, met if values else None, spread(values)))
    every = [*phases, *report.layers, *report.before_after]
    broken = _broken(every)
    if every:
        found.append(
            (
                "zero errors, lost or duplicated characters in every row",
                broken == 0,
                f"{broken} across {len(every)} phases",
            )
        )
    if phases:
        largest = max(p.clients for p in phases)
        share = max(p.source_share for p in phases if p.clients == largest)
        found.append(
            (
                f"the source under {SOURCE_SHARE_LIMIT} core at K={largest}",
                share < SOURCE_SHARE_LIMIT,
                f"{share:.2f} core at most",
            )
        )
    return found


def streaming_headline(report) -> list[str]:
    lines = []
    at_target = {p: median(v) for p, v in cpu_ratio_at_target(report.phases).items() if v}
    if at_target:
        lines.append(f"CPU per token, site/baseline, K={TARGET_K}: {max(at_target.values()):.2f}x")
    worst = worst_p99(report.phases)
    if worst:
        lines.append(f"p99 added latency, site/baseline, worst K: {worst[0]:.2f}x at K={worst[1]}")
    saturation = worst_saturation(report.saturation) if report.saturation else None
    if saturation:
        lines.append(f"saturation K, site/baseline: {saturation[0]}/{saturation[1]}")
    return lines
