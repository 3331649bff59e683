"""The time the budgets are counted by: Django's clock, which tests may stop at an instant
(`clock_frozen`) to cross a period's boundary without waiting for midnight."""

from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen or timezone.now()


@contextmanager
def clock_frozen(at: datetime):
    """Makes `now()` answer `at` (aware) until the block ends; `clock_set` moves it on."""
    global _frozen
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous


def clock_set(at: datetime) -> None:
    """Moves a frozen clock (inside `clock_frozen`)."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("clock_set outside clock_frozen")
    _frozen = at
