"""The one way a run or a response changes status: a conditional UPDATE on its current status.

So a cancel from one connection (or process) and the execution in another never overwrite
each other, whichever protocol's record it is.
"""

from django.db.models import Model


async def advance(record: Model, status: str, *, from_statuses: tuple[str, ...], **fields) -> bool:
    """Moves `record` (a Run or a Response) to `status` if it is still in one of
    `from_statuses`, with `fields`; the in-memory object follows."""
    rows = type(record)._default_manager.filter(pk=record.pk, status__in=from_statuses)
    updated = await rows.aupdate(status=status, **fields)
    if updated:
        record.status = status
        for name, value in fields.items():
            setattr(record, name, value)
    return bool(updated)


async def current_status(record: Model) -> str | None:
    """The status the database holds now; None once the record is deleted."""
    rows = type(record)._default_manager.filter(pk=record.pk)
    return await rows.values_list("status", flat=True).afirst()
