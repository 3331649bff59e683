"""Reads for the usage pages: tokens and costs per day, per assistant or model, the top
users and assistants of a period, and the rows of the CSV export."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from feedback.models import Feedback

from .models import ModelPrice, UsageRecord

MILLION = Decimal(1_000_000)
TOP = 10


def _prices() -> dict[str, tuple[Decimal, Decimal]]:
    return {p.model: (p.input_per_million, p.output_per_million) for p in ModelPrice.objects.all()}


def reply_cost(prices, *, model: str, input_tokens: int, output_tokens: int) -> Decimal | None:
    """What the tokens cost at the model's prices; None when the model has no price."""
    price = prices.get(model)
    if price is None:
        return None
    return (Decimal(input_tokens) * price[0] + Decimal(output_tokens) * price[1]) / MILLION


def _row_cost(prices, row: dict) -> Decimal | None:
    return reply_cost(
        prices, model=row["model"], input_tokens=row["input"], output_tokens=row["output"]
    )


@dataclass
class Tally:
    name: str
    input_tokens: int = 0
    output_tokens: int = 0
    replies: int = 0
    estimated: int = 0  # replies counted from their text
    cost: Decimal = Decimal(0)
    unpriced: int = 0  # replies of a model without a price

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, row: dict, cost: Decimal | None) -> None:
        self.input_tokens += row["input"] or 0
        self.output_tokens += row["output"] or 0
        self.replies += row["replies"]
        self.estimated += row["estimated"]
        if cost is None:
            self.unpriced += row["replies"]
        else:
            self.cost += cost


@dataclass
class Report:
    start: date
    end: date  # inclusive
    by: str  # "assistant" or "model"
    days: list[date]
    # series name -> per-day tallies (same order as `days`)
    series: dict[str, list[Tally]] = field(default_factory=dict)
    total: Tally = field(default_factory=lambda: Tally("total"))
    top_users: list[Tally] = field(default_factory=list)
    top_assistants: list[Tally] = field(default_factory=list)


def _finished_between(start: date, end: date):
    tz = timezone.get_current_timezone()
    since = timezone.make_aware(datetime.combine(start, datetime.min.time()), tz)
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), datetime.min.time()), tz)
    return UsageRecord.objects.filter(
        created_at__gte=since, created_at__lt=until, finished_at__isnull=False
    )


_SUMS = {
    "input": Sum("input_tokens"),
    "output": Sum("output_tokens"),
    "replies": Count("id"),
    "estimated": Count("id", filter=Q(estimated=True)),
}


def usage_report(*, start: date, end: date, by: str = "assistant") -> Report:
    """The finished replies started from `start` to `end` (inclusive, in TIME_ZONE)."""
    key = "assistant_name" if by == "assistant" else "model"
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    report = Report(start=start, end=end, by=by, days=days)
    prices = _prices()
    records = _finished_between(start, end)
    rows = (
        records.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", key, "model")
        .annotate(**_SUMS)
        .order_by("day")
    )
    for row in rows:
        cost = _row_cost(prices, row)
        name = row[key] or "(unknown)"
        if name not in report.series:
            report.series[name] = [Tally(name) for _ in days]
        report.series[name][index[row["day"]]].add(row, cost)
        report.total.add(row, cost)
    report.top_users = _top(records, "user__username", prices)
    report.top_assistants = _top(records, "assistant_name", prices)
    return report


def _top(records, name_key: str, prices) -> list[Tally]:
    """The TOP names of `name_key` by tokens (costed per model, then summed)."""
    tallies: dict[str, Tally] = {}
    for row in records.values(name_key, "model").annotate(**_SUMS):
        name = row[name_key] or "(deleted)"
        tally = tallies.setdefault(name, Tally(name))
        cost = _row_cost(prices, row)
        tally.add(row, cost)
    return sorted(tallies.values(), key=lambda t: (-t.tokens, t.name))[:TOP]


CSV_HEADER = [
    "started_at",
    "user",
    "assistant",
    "connection",
    "model",
    "input_tokens",
    "output_tokens",
    "estimated",
    "cost",
    # The user's thumbs up or down on the reply ("up", "down", blank) and their comment.
    "feedback",
    "feedback_comment",
]


def usage_csv_rows(*, start: date, end: date):
    """The CSV export: a header, then one row per finished reply of the period, oldest
    first (streamed from the database in chunks)."""
    yield CSV_HEADER
    prices = _prices()
    # The record's own user's feedback: one row at most (one per user and reply).
    feedback = Feedback.objects.filter(message=OuterRef("reply_id"), user=OuterRef("user_id"))
    records = (
        _finished_between(start, end)
        .annotate(
            feedback_rating=Subquery(feedback.values("rating")[:1]),
            feedback_comment=Subquery(feedback.values("comment")[:1]),
        )
        .order_by("created_at", "id")
        .values_list(
            "created_at",
            "user__username",
            "assistant_name",
            "connection",
            "model",
            "input_tokens",
            "output_tokens",
            "estimated",
            "feedback_rating",
            "feedback_comment",
        )
    )
    for row in records.iterator(chunk_size=2000):
        started, user, assistant, connection, model, inp, out, estimated, rating, comment = row
        cost = reply_cost(prices, model=model, input_tokens=inp, output_tokens=out)
        yield [
            timezone.localtime(started).isoformat(),
            user,
            assistant,
            connection,
            model,
            inp,
            out,
            "yes" if estimated else "no",
            "" if cost is None else f"{cost:.6f}",
            rating or "",
            comment or "",
        ]


def recent_replies(*, user, limit: int = 20) -> list[UsageRecord]:
    """The user's latest replies' usage, newest first, for their usage page."""
    return list(UsageRecord.objects.filter(user=user).order_by("-created_at", "-id")[:limit])
