"""asyncio.run in a thread of its own: Playwright's sync API (the e2e tests, which run first) keeps
an event loop running in the main thread, where asyncio.run refuses to start another."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_fresh(coroutine):
    """The coroutine's result, run to completion on a new event loop in another thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
