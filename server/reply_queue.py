"""The replies waiting for a socket's sender (server/socket_base.py), bounded in bytes.

Why bytes, not a count: one playground `data` message of a 5,000 × 16 CSV run is ~0.6 MB (it
used to be inside every `state`), so the old cap of 512 replies let a client that never reads pin
~300 MiB. Why snapshot kinds replace each other: a `state` (a `data`) is the whole run (its
points) as it is now, so a queued older one says nothing a newer one does not;
like the one-slot frame mailbox, a slow client gets the newest snapshot instead of a backlog (a
student dragging a slider on a CSV run over a slow link must not hit the byte cap).
"""
from __future__ import annotations

import re
from collections import deque
from typing import Optional, Union

Reply = Union[str, bytes]
_KIND = re.compile(r'\{"type":\s*"(\w+)"')


def reply_size(reply: Reply) -> int:
    """Bytes on the wire (a str's length when ASCII, O(1); else its UTF-8 length)."""
    if isinstance(reply, str) and not reply.isascii():
        return len(reply.encode("utf-8", "surrogatepass"))
    return len(reply)


class ReplyQueue:
    """FIFO of JSON texts (and non-frame binary messages) with their total size in bytes.

    `put` returns False (and queues nothing) when the reply would take the total beyond
    `max_bytes`: the caller drops the client. A reply whose `type` is in `snapshots` removes the
    queued reply of the same type first (its place in the order is the newest one's)."""

    def __init__(self, max_bytes: int, snapshots: frozenset = frozenset()):
        self.max_bytes, self.snapshots = max_bytes, snapshots
        self.items: deque[Reply] = deque()
        self.bytes = 0
        self._latest: dict[str, str] = {}   # snapshot kind -> its queued text

    def __len__(self) -> int:
        return len(self.items)

    def put(self, reply: Reply) -> bool:
        kind = self._snapshot_kind(reply)
        if kind is not None and kind in self._latest:
            older = self._latest.pop(kind)
            self.items.remove(older)  # equal texts are interchangeable: the first is the oldest
            self.bytes -= reply_size(older)
        size = reply_size(reply)
        if self.bytes + size > self.max_bytes and self.items:
            return False
        self.items.append(reply)
        self.bytes += size
        if kind is not None:
            self._latest[kind] = reply  # type: ignore[assignment]
        return True

    def pop(self) -> Reply:
        reply = self.items.popleft()
        self.bytes -= reply_size(reply)
        if self._latest:
            kind = self._snapshot_kind(reply)
            if kind is not None and self._latest.get(kind) is reply:
                del self._latest[kind]
        return reply

    def clear(self) -> None:
        self.items.clear()
        self._latest.clear()
        self.bytes = 0

    def _snapshot_kind(self, reply: Reply) -> Optional[str]:
        if not self.snapshots or not isinstance(reply, str):
            return None
        kind = message_kind(reply)
        return kind if kind in self.snapshots else None


def message_kind(text: str) -> Optional[str]:
    """The `type` of a server JSON text (it always comes first) without parsing the rest."""
    match = _KIND.match(text)
    return match.group(1) if match else None
