"""Where rooms live: the records (RoomStore) and the room events (RoomBus), behind two small
interfaces so that a Redis backend (keys for records, pub/sub for events) can replace the
in-memory ones without touching the sockets. Everything a second server process would need to
know about a room goes through these; sockets, runs and timers stay in the process that holds them.

Records are plain data (JSON-able): a Redis store keeps a room as a hash and its students as a
hash of JSON values; `add_student` must check the cap and allocate the id atomically (a Lua
script or WATCH/MULTI there; one event loop here).
"""
from __future__ import annotations

import abc
import hashlib
import hmac
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional


def token_digest(token: str) -> str:
    """Rooms keep a digest of the teacher token, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class RoomRecord:
    code: str
    token_digest: str
    created: float = field(default_factory=time.time)
    mode: str = "follow"                  # follow | own | paused
    message: Optional[str] = None         # the teacher's message (shown in paused mode)
    spotlight: Optional[int] = None       # the student whose run followers watch (None: the teacher's)
    teacher_connected: bool = False
    teacher_left: Optional[float] = None  # time.time() of the teacher's disconnect (comparable across machines)
    last_activity: float = field(default_factory=time.time)
    next_student: int = 1
    holder: Optional[str] = None          # on Redis: the id of the process holding the room's run
    kind: str = "playground"              # playground | lab (the optimizer race: server/lab_room.py)

    def token_matches(self, token: Optional[str]) -> bool:
        return token is not None and hmac.compare_digest(token_digest(token), self.token_digest)


@dataclass
class StudentRecord:
    student_id: int
    name: Optional[str]                   # plain text, stored as given (None: anonymous)
    mode: str = "follow"                  # follow | own | paused (the student's, after a fork: own)
    status: str = "following"             # following | idle | ready | running | paused | done | stopped_early | diverged
    iteration: Optional[int] = None
    train: Optional[dict] = None          # {"cost", "accuracy"} of the student's own run
    dev: Optional[dict] = None
    race: Optional[list] = None           # lab rooms: [{"id", "name", "status", "steps", "cost"}] per optimizer

    def roster_entry(self) -> dict:
        entry = asdict(self)
        if entry["race"] is None:  # a playground room's line has no race
            del entry["race"]
        return entry


class RoomStore(abc.ABC):
    """Room and student records. Async, so a networked store fits the same calls."""

    @abc.abstractmethod
    async def create_room(self, room: RoomRecord) -> bool:
        """False if the code is taken."""

    @abc.abstractmethod
    async def get_room(self, code: str) -> Optional[RoomRecord]: ...

    @abc.abstractmethod
    async def update_room(self, code: str, **changes: Any) -> None: ...

    @abc.abstractmethod
    async def delete_room(self, code: str) -> None:
        """The room and its students."""

    @abc.abstractmethod
    async def room_codes(self) -> list[str]: ...

    @abc.abstractmethod
    async def add_student(self, code: str, name: Optional[str], cap: int) -> Optional[StudentRecord]:
        """A new student with the room's next id, or None when the room has `cap` students."""

    @abc.abstractmethod
    async def update_student(self, code: str, student_id: int, **changes: Any) -> None: ...

    @abc.abstractmethod
    async def remove_student(self, code: str, student_id: int) -> None: ...

    @abc.abstractmethod
    async def students(self, code: str) -> list[StudentRecord]:
        """In joining order."""


class RoomBus(abc.ABC):
    """Room events (mode, spotlight, close, ...) to every process that holds the room's sockets.
    A callback gets the event dict; `subscribe` returns the function that unsubscribes."""

    @abc.abstractmethod
    def publish(self, code: str, event: dict) -> None: ...

    @abc.abstractmethod
    def subscribe(self, code: str, callback: Callable[[dict], None]) -> Callable[[], None]: ...


class MemoryRoomStore(RoomStore):
    def __init__(self) -> None:
        self.rooms: dict[str, RoomRecord] = {}
        self.members: dict[str, dict[int, StudentRecord]] = {}

    async def create_room(self, room: RoomRecord) -> bool:
        if room.code in self.rooms:
            return False
        self.rooms[room.code], self.members[room.code] = room, {}
        return True

    async def get_room(self, code: str) -> Optional[RoomRecord]:
        return self.rooms.get(code)

    async def update_room(self, code: str, **changes: Any) -> None:
        room = self.rooms.get(code)
        if room is not None:
            for key, value in changes.items():
                setattr(room, key, value)

    async def delete_room(self, code: str) -> None:
        self.rooms.pop(code, None)
        self.members.pop(code, None)

    async def room_codes(self) -> list[str]:
        return list(self.rooms)

    async def add_student(self, code: str, name: Optional[str], cap: int) -> Optional[StudentRecord]:
        room, members = self.rooms.get(code), self.members.get(code)
        if room is None or members is None or len(members) >= cap:
            return None
        student = StudentRecord(room.next_student, name, mode=room.mode)
        room.next_student += 1
        members[student.student_id] = student
        return student

    async def update_student(self, code: str, student_id: int, **changes: Any) -> None:
        student = self.members.get(code, {}).get(student_id)
        if student is not None:
            for key, value in changes.items():
                setattr(student, key, value)

    async def remove_student(self, code: str, student_id: int) -> None:
        self.members.get(code, {}).pop(student_id, None)

    async def students(self, code: str) -> list[StudentRecord]:
        return list(self.members.get(code, {}).values())


class MemoryRoomBus(RoomBus):
    def __init__(self) -> None:
        self.subscribers: dict[str, list[Callable[[dict], None]]] = {}

    def publish(self, code: str, event: dict) -> None:
        for callback in list(self.subscribers.get(code, ())):
            callback(event)

    def subscribe(self, code: str, callback: Callable[[dict], None]) -> Callable[[], None]:
        self.subscribers.setdefault(code, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self.subscribers.get(code, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self.subscribers.pop(code, None)
        return unsubscribe
