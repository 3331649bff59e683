"""Writes under a row that another request may be deleting: a thread's messages and runs, a
conversation's items and responses.

Without a lock, a message created while its thread is being deleted either fails its
foreign key (the thread is gone: a 500 instead of a 404) or slips in between the delete's
collection of the thread's rows and the thread's own row (the delete fails). So the create
and the delete of the parent both run in one transaction that first locks the parent's row:
the two are serialised, whichever database, and a create that comes second finds the parent
gone and answers 404.
"""

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import router, transaction
from django.db.models import F, Model

T = TypeVar("T")


def _lock(parent: Model, using: str) -> bool:
    """Locks the parent's row until the transaction ends; False when it is gone. An UPDATE of
    the key to itself takes a row lock on PostgreSQL and the write lock on SQLite (whose
    transactions begin IMMEDIATE here anyway), without changing anything."""
    model = type(parent)
    key = model._meta.pk.attname
    rows = model._default_manager.using(using).filter(pk=parent.pk)
    return bool(rows.update(**{key: F(key)}))


def locked_write(parent: Model, write: Callable[[], T]) -> tuple[bool, T | None]:
    """Runs `write` in one transaction with `parent`'s row locked first. Answers (False, None)
    without running it when the parent is gone."""
    using = router.db_for_write(type(parent))
    with transaction.atomic(using=using):
        if not _lock(parent, using):
            return False, None
        return True, write()


async def alocked_write(parent: Model, write: Callable[[], T]) -> tuple[bool, T | None]:
    """`locked_write` from async code; `write` is synchronous (it runs in the ORM's thread)."""
    return await sync_to_async(locked_write)(parent, write)


async def aatomic_write(model: type[Model], write: Callable[[], T]) -> T:
    """`write` (synchronous) in one transaction of `model`'s database, from async code."""

    def atomic() -> T:
        with transaction.atomic(using=router.db_for_write(model)):
            return write()

    return await sync_to_async(atomic)()
