"""A stacked bar chart per day as plain geometry, which a template draws as inline SVG:
no script and no style attribute (the page's CSP allows neither); colours are CSS classes."""

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
SERIES_CLASSES = 8  # usage.css colours series-0 ... series-7


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Legend:
    css: str
    name: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    legend: list[Legend]
    empty: bool


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least `value`: round tick labels."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def stacked_by_day(
    days: list[date], series: dict[str, list[float]], *, unit: str, fmt=lambda v: f"{v:,.0f}"
) -> Chart:
    """Bars per day, one stacked segment per series (in the order given)."""
    totals = [sum(values[n] for values in series.values()) for n in range(len(days))]
    top = _nice_ceiling(float(max(totals, default=0)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    bars, legend = [], []
    stacked = [0.0] * len(days)
    for n_series, (name, values) in enumerate(series.items()):
        css = f"series-{n_series % SERIES_CLASSES}"
        legend.append(Legend(css, name))
        for n, value in enumerate(values):
            if not value:
                continue
            height = plot_h * float(value) / top
            stacked[n] += height
            bars.append(
                Bar(
                    x=round(LEFT + n * slot + (slot - bar_w) / 2, 2),
                    y=round(TOP + plot_h - stacked[n], 2),
                    width=round(bar_w, 2),
                    height=round(height, 2),
                    css=css,
                    title=f"{days[n]:%d %b}, {name}: {fmt(value)} {unit}",
                )
            )
    ticks = [Tick(round(TOP + plot_h * (1 - k / 4), 2), fmt(top * k / 4)) for k in range(5)]
    every = max(1, round(len(days) / 10))
    labels = [
        Label(round(LEFT + n * slot + slot / 2, 2), f"{day:%d %b}")
        for n, day in enumerate(days)
        if n % every == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        bottom=TOP + plot_h,
        bars=bars,
        ticks=ticks,
        labels=labels,
        legend=legend,
        empty=not any(totals),
    )


def money(value: float | Decimal) -> str:
    return f"{value:,.2f}" if value >= 1 else f"{value:,.4f}"
