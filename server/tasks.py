"""Cancelling background tasks and waiting for them to end."""
import asyncio
import logging
from typing import Iterable, Optional

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[Optional[asyncio.Task]]) -> None:
    """Cancel `tasks` and wait until each has ended; an error a task ended with is logged.

    Not `gather(..., return_exceptions=True)`: when the waiting task is itself cancelled meanwhile
    (a server shutting down, a test client leaving), gather re-raises the *child's* CancelledError,
    which the canceller (anyio's cancel scope) does not recognise as its own and lets escape.
    `asyncio.wait` lets the waiter's own cancellation through unchanged."""
    pending = {t for t in tasks if t is not None}
    for task in pending:
        task.cancel()
    if not pending:
        return
    await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())
