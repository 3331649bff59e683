"""Cursor pagination of list endpoints: `limit`, `order`, `after`, `before`, as the real API."""

from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from localai.http.errors import APIError
from localai.http.objects import list_object

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise APIError(
            400,
            f"Invalid 'limit': expected an integer from 1 to {MAX_LIMIT}.",
            param="limit",
            code="invalid_value",
        )
    return limit


def _order(request: HttpRequest) -> str:
    order = request.GET.get("order", "desc")
    if order not in ("asc", "desc"):
        raise APIError(
            400, "Invalid 'order': expected 'asc' or 'desc'.", param="order", code="invalid_value"
        )
    return order


async def _cursor_pk(queryset: QuerySet, param: str, public_id: str) -> int:
    try:
        return await queryset.filter(public_id=public_id).values_list("pk", flat=True).aget()
    except queryset.model.DoesNotExist:
        raise APIError(
            400,
            f"Invalid '{param}': no object with id '{public_id}' in this list.",
            param=param,
            code="invalid_value",
        ) from None


async def paginate(
    queryset: QuerySet, request: HttpRequest, render: Callable[[Model], dict]
) -> dict:
    """A list object for one page of `queryset`, newest first unless `order=asc`.

    `after` pages forwards from an id; `before` pages backwards, and the page still reads
    in the requested order.
    """
    limit, order = _limit(request), _order(request)
    after, before = request.GET.get("after"), request.GET.get("before")
    ascending = order == "asc"
    base = queryset
    if after:
        pivot = await _cursor_pk(base, "after", after)
        queryset = queryset.filter(pk__gt=pivot) if ascending else queryset.filter(pk__lt=pivot)
    if before:
        pivot = await _cursor_pk(base, "before", before)
        queryset = queryset.filter(pk__lt=pivot) if ascending else queryset.filter(pk__gt=pivot)
        # Walk away from the cursor, then restore the requested order.
        ascending = not ascending
    rows = [row async for row in queryset.order_by("pk" if ascending else "-pk")[: limit + 1]]
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before:
        rows.reverse()
    return list_object([render(row) for row in rows], has_more=has_more)
