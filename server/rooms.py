"""Classroom rooms in this process: the registry (create, join checks, the join rate limit, the
roster tick, ends by close/grace/idle) and each room's live part (the teacher's run, the local
sockets, which run followers watch). Records and events go through a RoomStore and a RoomBus
(server/room_store.py) so that another backend can share them across processes.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Optional

from server import limits
from server.lab_race import LabRace
from server.live_run import LiveRun
from server.room_protocol import CODE_ALPHABET, CODE_LENGTH, TOKEN_BYTES
from server.room_store import MemoryRoomBus, MemoryRoomStore, RoomBus, RoomRecord, RoomStore, token_digest
from server.settings import Settings
from server.tasks import cancel_and_wait
from server.thumbnails import encode_thumbnails, thumbnail
from server.workers import WorkerPool

if TYPE_CHECKING:
    from server.room_socket import RoomSocket

log = logging.getLogger("nn_playground.rooms")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class JoinGuard:
    """Failed joins per client address: a token bucket of JOIN_FAILURES per JOIN_FAILURE_WINDOW.
    Only failures count, so a class behind one address joins freely."""

    def __init__(self, failures: int = limits.JOIN_FAILURES, window: float = limits.JOIN_FAILURE_WINDOW):
        self.capacity, self.rate = float(failures), failures / window
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, time)

    def _tokens(self, address: str) -> float:
        tokens, then = self.buckets.get(address, (self.capacity, time.monotonic()))
        return min(self.capacity, tokens + (time.monotonic() - then) * self.rate)

    def allowed(self, address: str) -> bool:
        return self._tokens(address) >= 1.0

    def failed(self, address: str) -> None:
        if len(self.buckets) > 10_000:  # forget addresses whose bucket is full again
            self.buckets = {a: v for a, v in self.buckets.items() if self._tokens(a) < self.capacity}
        self.buckets[address] = (max(0.0, self._tokens(address) - 1.0), time.monotonic())


class Room:
    """A room's live part in this process."""

    def __init__(self, code: str, manager: "RoomManager"):
        self.code, self.manager = code, manager
        self.kind = "playground"                    # or "lab": the room's run is an optimizer race
        self.teacher: Optional["RoomSocket"] = None
        self._teacher_run: Optional[LiveRun] = None  # the room's run: it outlives the teacher's socket
        self.holder: Optional[str] = None           # on Redis: the process holding the room's run
        self.students: dict[int, "RoomSocket"] = {}
        self.mode, self.message, self.spotlight = "follow", None, None
        self.thumbs_sent: dict[int, bytes] = {}   # student -> the frame its thumbnail was cut from
        self.unsubscribe = manager.bus.subscribe(code, self.on_event)

    @property
    def teacher_run(self) -> LiveRun:
        """The room's run in this process (made on first use; on Redis only the holder's is used)."""
        if self._teacher_run is None:
            self._teacher_run = LabRace() if self.kind == "lab" else LiveRun(self.manager.pool)
        return self._teacher_run

    @property
    def holds_run(self) -> bool:
        return self.manager.remote is None or self.holder == self.manager.remote.pid

    def followed(self) -> LiveRun:
        """The run followers watch: the spotlit student's, else the teacher's (on Redis, a mirror
        of it when another process holds it: server/room_redis.py)."""
        seat = self.students.get(self.spotlight) if self.spotlight is not None else None
        if seat is not None and seat.own is not None:
            return seat.own
        remote = self.manager.remote
        if remote is not None:
            if self.spotlight is not None and seat is None:
                return remote.mirror(self, f"s{self.spotlight}")
            if not self.holds_run:
                return remote.mirror(self, "teacher")
        return self.teacher_run

    def on_event(self, event: dict) -> None:
        """A room event from the bus (this process's or another's)."""
        kind = event["type"]
        if self.manager.remote is not None and self.manager.remote.on_event(self, event):
            return
        if kind == "mode":
            self.mode, self.message = event["mode"], event.get("message")
            for seat in list(self.students.values()):
                seat.room_mode(self.mode, self.message)
        elif kind == "spotlight":
            self.spotlight = event["student_id"]
            for seat in list(self.students.values()):
                seat.reply(event)
                seat.refollow()
        elif kind == "push":
            for seat in list(self.students.values()):
                seat.push(event["config"], self._teacher_run.csv if self._teacher_run is not None else None)
        elif kind == "closed":
            for socket in [self.teacher, *self.students.values()]:
                if socket is not None:
                    socket.reply(event)
                    socket.close(1000, "room closed")

    def publish(self, event: dict) -> None:
        self.manager.bus.publish(self.code, event)


class RoomManager:
    def __init__(self, pool: WorkerPool, settings: Settings, store: Optional[RoomStore] = None,
                 bus: Optional[RoomBus] = None):
        self.pool, self.settings = pool, settings
        self.remote = None  # on Redis (--redis): the cross-process part, server/room_redis.py
        if store is None and bus is None and settings.redis_url:
            from server.room_redis import RedisRooms
            self.remote = RedisRooms(settings.redis_url, self)
            store, bus = self.remote.store, self.remote.bus
        self.store = store or MemoryRoomStore()
        self.bus = bus or MemoryRoomBus()
        self.rooms: dict[str, Room] = {}
        self.guard = JoinGuard()
        self._ticker: Optional[asyncio.Task] = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_loop())

    def attach(self, record: RoomRecord) -> Room:
        """This process's part of a room whose record another process made (on Redis)."""
        room = self.rooms.get(record.code)
        if room is None:
            room = self.rooms[record.code] = Room(record.code, self)
            room.mode, room.message, room.spotlight, room.holder, room.kind = \
                record.mode, record.message, record.spotlight, record.holder, record.kind
        return room

    async def stop(self) -> None:
        await cancel_and_wait([self._ticker])
        for code in list(self.rooms):  # on Redis the room lives on in the other processes
            await self.end(code, "the server is shutting down", everywhere=self.remote is None)
        if self.remote is not None:
            await self.remote.stop()

    async def create(self, kind: str = "playground") -> Optional[tuple[str, str]]:
        """A new room of that kind: (code, teacher token), or None when MAX_ROOMS are open."""
        if len(self.rooms) >= limits.MAX_ROOMS:
            return None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        while True:
            code = new_code()
            record = RoomRecord(code, token_digest(token), teacher_left=time.time(),
                                holder=self.remote.pid if self.remote is not None else None, kind=kind)
            if await self.store.create_room(record):
                break
        self.attach(record)
        return code, token

    async def end(self, code: str, reason: str, everywhere: bool = True) -> None:
        """Close every socket of the room, free every run, forget the room (everywhere: in every
        process and in the store; else only this process's part)."""
        room = self.rooms.pop(code, None)
        if room is None:
            return
        log.info("room %s ends: %s", code, reason)
        event = {"type": "closed", "reason": reason}
        if everywhere:
            room.publish(event)
        else:
            room.on_event(event)
        room.unsubscribe()
        for seat in list(room.students.values()):
            seat.leave()
        if room._teacher_run is not None:
            room._teacher_run.close()
        if self.remote is not None:
            self.remote.forget(room)
        if everywhere:
            await self.store.delete_room(code)

    # ------------------------------------------------------------------ roster, thumbnails, ends
    async def _tick_loop(self) -> None:
        if self.remote is not None:
            await self.remote.start()
        while True:
            await asyncio.sleep(limits.ROSTER_SECONDS)
            for code in list(self.rooms):
                try:
                    await self._tick(code)
                except Exception:  # noqa: BLE001 - one broken room must not stop the others' rosters
                    log.exception("room %s: roster tick failed", code)

    async def _tick(self, code: str) -> None:
        room, record = self.rooms.get(code), await self.store.get_room(code)
        if room is not None and record is None:  # ended by another process (or its keys expired)
            await self.end(code, "the room has ended", everywhere=False)
        if room is None or record is None:
            return
        now = time.time()
        if not record.teacher_connected and record.teacher_left is not None \
                and now - record.teacher_left > self.settings.room_grace:
            await self.end(code, f"the teacher did not come back within {self.settings.room_grace:g} s")
            return
        if now - record.last_activity > self.settings.room_idle:
            await self.end(code, f"no message from the teacher for {self.settings.room_idle:g} s")
            return
        for student_id, seat in room.students.items():
            changes = seat.summary()
            if changes:
                await self.store.update_student(code, student_id, **changes)
        if self.remote is not None:
            await self.remote.tick(room)
        if room.teacher is None:
            return
        students = await self.store.students(code)
        room.teacher.reply({"type": "roster", "mode": room.mode, "spotlight": room.spotlight,
                            "students": [s.roster_entry() for s in students]})
        thumbs = {}
        for student_id, seat in room.students.items():
            frame = seat.own.last_frame if seat.own is not None else None
            if frame is not None and room.thumbs_sent.get(student_id) is not frame:
                thumb = thumbnail(frame)
                if thumb is not None:
                    thumbs[student_id] = thumb
                room.thumbs_sent[student_id] = frame
        if self.remote is not None:
            thumbs.update(await self.remote.remote_thumbnails(room))
        if thumbs:
            room.teacher.reply_binary(encode_thumbnails(thumbs))
