"""cancel_and_wait: background tasks end, and the waiter's own cancellation stays its own."""
import asyncio
import logging

import pytest

from server.tasks import cancel_and_wait
from tests.fresh_loop import run_fresh


async def stubborn() -> None:
    """A task whose clean-up outlives a second cancel and ends with its *first* CancelledError."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass
        raise


def test_the_waiters_cancellation_keeps_its_message():
    # anyio's cancel scope (the test client's, a server's shutdown) recognises its CancelledError
    # by its message; asyncio.gather would raise the child's message-less one instead
    async def main():
        child = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(cancel_and_wait([child]))
        await asyncio.sleep(0.01)
        waiter.cancel("Cancelled via cancel scope 1")
        with pytest.raises(asyncio.CancelledError) as caught:
            await waiter
        await asyncio.wait([child])
        return caught.value.args, child.cancelled()
    args, child_cancelled = run_fresh(main())
    assert args == ("Cancelled via cancel scope 1",)
    assert child_cancelled


def test_every_task_ends_and_a_failure_is_logged(caplog):
    async def fails():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("clean-up broke")

    async def main():
        tasks = [asyncio.create_task(asyncio.sleep(10)), asyncio.create_task(fails()), None]
        await asyncio.sleep(0)
        await cancel_and_wait(tasks)
        return [t.done() for t in tasks if t is not None]
    with caplog.at_level(logging.ERROR, logger="server.tasks"):
        assert run_fresh(main()) == [True, True]
    assert "failed" in caplog.text and "clean-up broke" in caplog.text


def test_nothing_to_wait_for():
    run_fresh(cancel_and_wait([None]))
