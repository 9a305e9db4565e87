"""server/memory_trim.py: a trim after sessions end, at most one per TRIM_SECONDS."""
from __future__ import annotations

import sys

import pytest

from server.memory_trim import TRIM_SECONDS, Trimmer, _malloc_trim


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_trim_follows_an_ended_session_at_most_once_per_trim_seconds():
    clock, calls = Clock(), []
    t = Trimmer(clock, trim=lambda pad: calls.append(pad) or 1)
    for op in ("open", "set", "play", "want", "gradcheck"):  # nothing freed
        t.saw(op)
    assert not t.maybe_trim() and t.cap(None) is None and t.cap(0.5) == 0.5
    t.saw("close")
    assert t.maybe_trim() and calls == [0]  # the first one at once
    t.saw("reset")
    clock.now += TRIM_SECONDS - 1
    assert not t.maybe_trim()
    assert t.cap(None) == pytest.approx(1.0) and t.cap(0.25) == 0.25  # an idle worker wakes for it
    clock.now += 1
    assert t.maybe_trim() and calls == [0, 0]
    clock.now += 60
    assert not t.maybe_trim()  # nothing ended since
    for op in ("configure", "import"):
        t.saw(op)
        assert t.maybe_trim()
        clock.now += TRIM_SECONDS


def test_without_malloc_trim_nothing_is_due():
    t = Trimmer(Clock(), trim=None)
    t.trim = None
    t.saw("close")
    assert not t.maybe_trim() and t.cap(None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_glibc_s_malloc_trim_is_found_and_runs():
    trim = _malloc_trim()
    assert trim is not None and trim(0) in (0, 1)
