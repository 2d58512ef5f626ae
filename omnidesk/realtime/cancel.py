"""Cancelling tasks for sure."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until each has ended. Their errors count as seen (no
    "exception never retrieved" at exit); callers can still ask ``task.exception()``.

    On Python 3.11, ``asyncio.wait_for`` (used by redis-py and database drivers) swallows a
    cancellation that arrives as the awaited operation completes, so one ``cancel()`` may
    go unheard: ask again until every task has stopped.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if not task.cancelled():
            task.exception()


async def first_to_end(*work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` side by side until one ends, stop the others, and return its result
    (or raise its error): a socket's stream, listener and heartbeat live and die together."""
    tasks = [asyncio.create_task(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(*tasks)
    return done.pop().result()
