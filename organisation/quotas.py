"""Reads: a user's token budgets, the periods they run over, and what has been spent.

How the levels combine, for the daily and the monthly budget separately:
1. the user's own quota, where it sets that budget;
2. else the most generous of the user's groups that set it (0, no limit, beats any number);
3. else the default quota, where it sets it;
4. else no limit.
A day and a month are calendar ones in TIME_ZONE: a budget resets at midnight, and on the
first of the month.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q, Sum
from django.utils import timezone

from chat.prepared_statements import PreparedQuery

from . import clock
from .models import Quota, UsageRecord

# The group's members joined rather than the user's groups as a subquery: the same rows (one
# member row at most matches), half the CPU to build; prepared, as this runs every turn.
_QUOTAS_OF_USER = PreparedQuery(
    lambda user: Quota.objects.filter(
        Q(scope=Quota.Scope.DEFAULT)
        | Q(scope=Quota.Scope.USER, user_id=user)
        | Q(scope=Quota.Scope.GROUP, group__user=user)
    ),
    user=(1, 2),
)


@dataclass(frozen=True)
class Limits:
    daily: int | None  # tokens; None: no limit
    monthly: int | None


@dataclass(frozen=True)
class Periods:
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime


@dataclass(frozen=True)
class Spent:
    day: int
    month: int
    # The largest record of the month: what a reply in flight is reserved at (services).
    largest: int


def _pick(own: int | None, groups: list[int], default: int | None) -> int | None:
    if own is not None:
        return own or None
    if groups:
        return None if 0 in groups else max(groups)
    return default or None


def limits_for(*, user) -> Limits:
    """The user's daily and monthly budgets (one query)."""
    quotas = _QUOTAS_OF_USER.objects(user=user.pk)
    by_scope = {scope: [q for q in quotas if q.scope == scope] for scope in Quota.Scope.values}
    own = by_scope[Quota.Scope.USER][0] if by_scope[Quota.Scope.USER] else None
    default = by_scope[Quota.Scope.DEFAULT][0] if by_scope[Quota.Scope.DEFAULT] else None
    limits = {}
    for field in ("daily_tokens", "monthly_tokens"):
        limits[field] = _pick(
            getattr(own, field) if own else None,
            [v for q in by_scope[Quota.Scope.GROUP] if (v := getattr(q, field)) is not None],
            getattr(default, field) if default else None,
        )
    return Limits(daily=limits["daily_tokens"], monthly=limits["monthly_tokens"])


def periods_at(at: datetime | None = None) -> Periods:
    local = timezone.localtime(at or clock.now())
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day_start.replace(day=1)
    # Wall-clock arithmetic, then the zone again: a day across a DST change is 23 or 25 h.
    next_day = day_start.replace(tzinfo=None) + timedelta(days=1)
    next_month = (month_start.replace(tzinfo=None) + timedelta(days=32)).replace(day=1)
    return Periods(
        day_start=day_start,
        day_end=timezone.make_aware(next_day, local.tzinfo),
        month_start=month_start,
        month_end=timezone.make_aware(next_month, local.tzinfo),
    )


def spent_by(*, user, periods: Periods) -> Spent:
    """Tokens counted against the user's budgets, replies in flight at their reservation
    (one query)."""
    row = UsageRecord.objects.filter(
        user=user, created_at__gte=periods.month_start, created_at__lt=periods.month_end
    ).aggregate(
        month=Sum("total_tokens"),
        day=Sum("total_tokens", filter=Q(created_at__gte=periods.day_start)),
        largest=Max("total_tokens"),
    )
    return Spent(day=row["day"] or 0, month=row["month"] or 0, largest=row["largest"] or 0)


@dataclass(frozen=True)
class Budget:
    """One budget of a user, for the usage page and the refusal."""

    period: str  # "day" or "month"
    limit: int | None
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def percent(self) -> int:
        return 0 if not self.limit else min(100, round(100 * self.used / self.limit))


def budgets_from(*, limits: Limits, spent: Spent, periods: Periods) -> list[Budget]:
    return [
        Budget("day", limits.daily, spent.day, periods.day_end),
        Budget("month", limits.monthly, spent.month, periods.month_end),
    ]


def budgets_for(*, user, at: datetime | None = None) -> list[Budget]:
    """The user's daily and monthly budgets as they stand (two queries)."""
    periods = periods_at(at)
    return budgets_from(
        limits=limits_for(user=user), spent=spent_by(user=user, periods=periods), periods=periods
    )
