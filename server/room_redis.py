"""Classroom rooms across server processes on Redis (`python -m server --redis URL`;
docs/protocol.md "Rooms across processes").

- RedisRoomStore: a room is the hash `nnp:room:{code}` (RoomRecord fields, JSON values), its
  students the hash `nnp:room:{code}:students` (student id -> StudentRecord JSON) and their
  thumbnails `nnp:room:{code}:thumbs`. Every write refreshes the keys' TTL from the room's own
  rules: the idle time while the teacher is connected, the grace time (at most the idle time)
  while not, plus TTL_SLACK; a live room is ended by a process's tick before, the TTL only
  clears rooms whose every process died. Creating, the cap check with the id, and merging a
  student's summary are Lua scripts (atomic).
- RedisRoomBus: room events on the channel `nnp:room:{code}:events`; this process's subscribers
  get its own events at once (in order, as in one process) and skip their echo from Redis.
- RedisRooms: the runs. The process holding a run that other processes follow (the teacher's
  run: the holder process in the room record; a spotlit student's own run: that student's
  process) attaches a RunRelay to it, which publishes the run's binary frames and its `data`,
  `state`, `done`, `diverged` texts on `nnp:room:{code}:run:{key}` (key `teacher` or `s{id}`).
  A process whose local sockets follow such a run has a RemoteRun mirror: subscribed to that
  channel, it feeds its local viewers through their own credits and one-slot mailboxes like a
  LiveRun.
  Requests to a run's process (`follow_run`: attach a relay and send me the replay; `export_run`:
  the session state for a fork or for the teacher's run moving to another process) go as room
  events; answers come on the asking process's channel `nnp:proc:{id}`.
- Lab rooms (docs/lab.md "Lab rooms"): the run is an optimizer race (server/lab_race.py). Its
  holder's RaceRelay publishes the race's JSON texts and, per tick it gets to send, one frame of
  the points since its previous one; a RemoteRace mirror first gets the race's replay (surface,
  state, diverged and a whole-paths frame, as a late joiner), then rebuilds the paths from the
  relayed frames and feeds its local viewers through their own RaceFeeds (their own pacing). A
  fork's or a moving teacher's `export_run` answer is the race's settings (a `configure`, JSON).
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Callable, Optional

import redis.asyncio as aioredis

from server.fanout import FANOUT
from server.frames import MAGIC
from server.lab_race import HISTORY, LabRace, track_lengths
from server.lab_session import RacerView, Snapshot, TrackView
from server.live_run import LiveRun, is_running, message_kind, replayed
from server.room_store import RoomBus, RoomRecord, RoomStore, StudentRecord
from server.tasks import cancel_and_wait
from server.thumbnails import Thumbnail, thumbnail

if TYPE_CHECKING:
    from server.rooms import Room, RoomManager

log = logging.getLogger("nn_playground.rooms.redis")
PREFIX = "nnp:"
TTL_SLACK = 60.0          # seconds the keys outlive the room's idle/grace deadline
REQUEST_SECONDS = 10.0    # an export request without answer fails after this long
_ROOM_FIELDS = {f.name for f in fields(RoomRecord)}
_STUDENT_FIELDS = {f.name for f in fields(StudentRecord)}

# KEYS: room, students, thumbs. ARGV: idle, grace, slack, then field/JSON-value pairs.
# Returns 0 if the room does not exist (nothing written), else 1.
_UPDATE_ROOM = """
if redis.call('exists', KEYS[1]) == 0 then return 0 end
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
local idle, grace = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl = idle
if redis.call('hget', KEYS[1], 'teacher_connected') ~= 'true' then ttl = math.min(grace, idle) end
ttl = math.floor((ttl + tonumber(ARGV[3])) * 1000)
for i = 1, 3 do redis.call('pexpire', KEYS[i], ttl) end
return 1
"""
# KEYS: room. ARGV: idle, grace, slack, then field/value pairs. 0 if the code is taken.
_CREATE_ROOM = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
local ttl = math.min(tonumber(ARGV[1]), tonumber(ARGV[2])) + tonumber(ARGV[3])
redis.call('pexpire', KEYS[1], math.floor(ttl * 1000))
return 1
"""
# KEYS: room, students. ARGV: cap, name (JSON). {id, mode JSON}; -1: no room; 0: full.
_ADD_STUDENT = """
if redis.call('exists', KEYS[1]) == 0 then return {-1, ''} end
if redis.call('hlen', KEYS[2]) >= tonumber(ARGV[1]) then return {0, ''} end
local id = redis.call('hincrby', KEYS[1], 'next_student', 1) - 1
local mode = redis.call('hget', KEYS[1], 'mode') or '"follow"'
redis.call('hset', KEYS[2], id, '{"student_id":' .. id .. ',"name":' .. ARGV[2] .. ',"mode":' .. mode .. '}')
local ttl = redis.call('pttl', KEYS[1])
if ttl > 0 then redis.call('pexpire', KEYS[2], ttl) end
return {id, mode}
"""
# KEYS: students. ARGV: id, changes (JSON object). Merged only into a student still there.
_UPDATE_STUDENT = """
local value = redis.call('hget', KEYS[1], ARGV[1])
if not value then return 0 end
local record = cjson.decode(value)
for k, v in pairs(cjson.decode(ARGV[2])) do record[k] = v end
redis.call('hset', KEYS[1], ARGV[1], cjson.encode(record))
return 1
"""


async def aclose(connection) -> None:
    """redis-py ≥ 5.0.1 names it aclose; 5.0.0 close."""
    await (getattr(connection, "aclose", None) or connection.close)()


def room_key(code: str) -> str:
    return f"{PREFIX}room:{code}"


def _pairs(changes: dict) -> list[str]:
    out: list[str] = []
    for key, value in changes.items():
        out += [key, json.dumps(value)]
    return out


class RedisHub:
    """This process's Redis connections: commands, one pub/sub connection for every channel it
    listens to, and one ordered outbox (publishes, subscribes, relays' frames) sent by one task."""

    def __init__(self, url: str):
        self.client = aioredis.from_url(url)
        self.pid = secrets.token_hex(8)
        self.pubsub = self.client.pubsub()
        self.handlers: dict[bytes, Callable[[bytes], None]] = {}
        self.outbox: deque = deque()
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.requests: dict[str, asyncio.Future] = {}
        self.proc_handler: Optional[Callable[[dict, bytes], None]] = None

    def channel(self, name: str) -> bytes:
        return (PREFIX + name).encode()

    async def start(self) -> None:
        await self.client.ping()
        own = self.channel(f"proc:{self.pid}")
        self.handlers[own] = self._on_proc
        await self.pubsub.subscribe(own)
        self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._send())]

    async def stop(self) -> None:
        await cancel_and_wait(self.tasks)
        try:
            await aclose(self.pubsub)
            await aclose(self.client)
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass

    # ------------------------------------------------------------------ out (one ordered task)
    def publish(self, channel: bytes, data: bytes) -> None:
        self._put(("pub", channel, data))

    def listen(self, channel: bytes, handler: Callable[[bytes], None]) -> Callable[[], None]:
        """Call handler(data) for each message on the channel; returns the unsubscribe function."""
        self.handlers[channel] = handler
        self._put(("sub", channel))

        def unsubscribe() -> None:
            if self.handlers.get(channel) is handler:
                del self.handlers[channel]
                self._put(("unsub", channel))
        return unsubscribe

    def send_to(self, process: str, header: dict, body: bytes = b"") -> None:
        self.publish(self.channel(f"proc:{process}"), json.dumps(header).encode() + b"\n" + body)

    def _put(self, item: tuple) -> None:
        self.outbox.append(item)
        self.wake.set()

    async def _send(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.outbox:
                pipe, count = self.client.pipeline(transaction=False), 0
                try:
                    while self.outbox:
                        item = self.outbox.popleft()
                        if item[0] == "pub":
                            pipe.publish(item[1], item[2])
                            count += 1
                        elif item[0] == "relay":
                            for data in item[1].take():
                                pipe.publish(item[1].channel, data)
                                count += 1
                        else:  # a subscription change: what was published before goes first
                            if count:
                                await pipe.execute()
                                pipe, count = self.client.pipeline(transaction=False), 0
                            if item[0] == "sub" and item[1] in self.handlers:
                                await self.pubsub.subscribe(item[1])
                            elif item[0] == "unsub" and item[1] not in self.handlers:
                                await self.pubsub.unsubscribe(item[1])
                    if count:
                        await pipe.execute()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - Redis down: drop this batch, keep serving
                    log.exception("publishing to Redis failed")
                    await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ in
    async def _listen(self) -> None:
        while True:
            try:
                async for message in self.pubsub.listen():
                    if message["type"] != "message":
                        continue
                    handler = self.handlers.get(message["channel"])
                    if handler is not None:
                        try:
                            handler(message["data"])
                        except Exception:  # noqa: BLE001 - one bad message must not stop the others
                            log.exception("handling a Redis message failed")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect after a lost connection
                log.exception("Redis subscription failed; retrying")
                await asyncio.sleep(0.5)

    def _on_proc(self, data: bytes) -> None:
        head, _, body = data.partition(b"\n")
        header = json.loads(head)
        if header.get("kind") == "reply":
            waiter = self.requests.pop(header["rid"], None)
            if waiter is not None and not waiter.done():
                waiter.set_result((header.get("ok", False), body))
        elif self.proc_handler is not None:
            self.proc_handler(header, body)


class RedisRoomStore(RoomStore):
    def __init__(self, hub: RedisHub, idle: float, grace: float):
        self.hub, self.idle, self.grace = hub, idle, grace
        client = hub.client
        self._create = client.register_script(_CREATE_ROOM)
        self._update = client.register_script(_UPDATE_ROOM)
        self._add = client.register_script(_ADD_STUDENT)
        self._update_student = client.register_script(_UPDATE_STUDENT)

    def _keys(self, code: str) -> list[str]:
        base = room_key(code)
        return [base, base + ":students", base + ":thumbs"]

    def _ttl_args(self) -> list:
        return [self.idle, self.grace, TTL_SLACK]

    async def create_room(self, room: RoomRecord) -> bool:
        values = {k: v for k, v in vars(room).items()}
        return bool(await self._create(keys=self._keys(room.code)[:1], args=self._ttl_args() + _pairs(values)))

    async def get_room(self, code: str) -> Optional[RoomRecord]:
        raw = await self.hub.client.hgetall(room_key(code))
        if not raw:
            return None
        values = {k.decode(): json.loads(v) for k, v in raw.items()}
        return RoomRecord(**{k: v for k, v in values.items() if k in _ROOM_FIELDS})

    async def update_room(self, code: str, **changes: Any) -> None:
        await self._update(keys=self._keys(code), args=self._ttl_args() + _pairs(changes))

    async def delete_room(self, code: str) -> None:
        await self.hub.client.delete(*self._keys(code))

    async def room_codes(self) -> list[str]:
        prefix = len(room_key(""))
        return [key.decode()[prefix:] async for key in self.hub.client.scan_iter(match=room_key("??????"))]

    async def add_student(self, code: str, name: Optional[str], cap: int) -> Optional[StudentRecord]:
        student_id, mode = await self._add(keys=self._keys(code)[:2], args=[cap, json.dumps(name)])
        if student_id <= 0:
            return None
        return StudentRecord(int(student_id), name, mode=json.loads(mode))

    async def update_student(self, code: str, student_id: int, **changes: Any) -> None:
        await self._update_student(keys=self._keys(code)[1:2], args=[student_id, json.dumps(changes)])

    async def remove_student(self, code: str, student_id: int) -> None:
        pipe = self.hub.client.pipeline(transaction=True)
        keys = self._keys(code)
        pipe.hdel(keys[1], student_id)
        pipe.hdel(keys[2], student_id)
        await pipe.execute()

    async def students(self, code: str) -> list[StudentRecord]:
        raw = await self.hub.client.hgetall(self._keys(code)[1])
        records = [json.loads(v) for v in raw.values()]
        records.sort(key=lambda r: r["student_id"])  # ids grow in joining order
        return [StudentRecord(**{k: v for k, v in r.items() if k in _STUDENT_FIELDS}) for r in records]

    # thumbnails of each process's students, read by the teacher's process
    async def put_thumbnails(self, code: str, thumbs: dict[int, Thumbnail]) -> None:
        if thumbs:
            await self.hub.client.hset(self._keys(code)[2], mapping={
                student_id: json.dumps({"iteration": t.iteration, "shape": list(t.shape), "lo": t.lo,
                                        "hi": t.hi}).encode() + b"\n" + t.pixels
                for student_id, t in thumbs.items()})

    async def thumbnails(self, code: str) -> dict[int, bytes]:
        raw = await self.hub.client.hgetall(self._keys(code)[2])
        return {int(k): v for k, v in raw.items()}


def decode_thumbnail(data: bytes) -> Thumbnail:
    head, _, pixels = data.partition(b"\n")
    meta = json.loads(head)
    return Thumbnail(meta["iteration"], pixels, tuple(meta["shape"]), meta["lo"], meta["hi"])


class RedisRoomBus(RoomBus):
    def __init__(self, hub: RedisHub):
        self.hub = hub
        self.subscribers: dict[str, list[Callable[[dict], None]]] = {}
        self.unlisten: dict[str, Callable[[], None]] = {}

    def _channel(self, code: str) -> bytes:
        return self.hub.channel(f"room:{code}:events")

    def publish(self, code: str, event: dict) -> None:
        for callback in list(self.subscribers.get(code, ())):
            callback(event)
        self.hub.publish(self._channel(code), json.dumps({"origin": self.hub.pid, "event": event}).encode())

    def subscribe(self, code: str, callback: Callable[[dict], None]) -> Callable[[], None]:
        if code not in self.subscribers:
            self.subscribers[code] = []
            self.unlisten[code] = self.hub.listen(self._channel(code), lambda data: self._receive(code, data))
        self.subscribers[code].append(callback)

        def unsubscribe() -> None:
            callbacks = self.subscribers.get(code, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks and code in self.subscribers:
                del self.subscribers[code]
                self.unlisten.pop(code)()
        return unsubscribe

    def _receive(self, code: str, data: bytes) -> None:
        message = json.loads(data)
        if message["origin"] == self.hub.pid:
            return  # delivered here when it was published
        for callback in list(self.subscribers.get(code, ())):
            callback(message["event"])


class _AlwaysHungry:
    def hungry(self) -> bool:
        return True


class _Relay:
    """What both relays share: a viewer of a local run whose texts queue for the hub's outbox
    (published on the run's channel when the outbox is sent), detached on close."""

    def __init__(self, hub: RedisHub, channel: bytes, run):
        self.hub, self.channel, self.run = hub, channel, run
        self.texts: list[bytes] = []
        self.queued = False

    def send_text(self, text: str) -> None:
        self.texts.append(text.encode())
        self._queue()

    def _queue(self) -> None:
        if not self.queued:
            self.queued = True
            self.hub._put(("relay", self))

    def close(self) -> None:
        self.run.detach(self)


class RunRelay(_Relay):
    """A viewer of a local run that publishes what its viewers get (frames, broadcast texts) on
    the run's channel. It always takes a frame (the followers elsewhere have their own credits);
    its pending frame is one slot: a slow Redis gets the newest frame, never a queue of old ones."""

    every_frame = True  # not thinned here: the followers' process thins its own (server/fanout.py)

    def __init__(self, hub: RedisHub, channel: bytes, run: LiveRun):
        super().__init__(hub, channel, run)
        self.slot = _AlwaysHungry()
        self.frame: Optional[bytes] = None
        run.attach(self, replay=False)

    def offer(self, frame: bytes) -> None:
        self.frame = frame
        self._queue()

    def take(self) -> list[bytes]:
        out = self.texts + ([self.frame] if self.frame is not None else [])
        self.texts, self.frame, self.queued = [], None, False
        return out


class RaceRelay(_Relay):
    """RunRelay's part for an optimizer race: a viewer of the local race that publishes its texts
    at once and, when the outbox is sent, the newest snapshot as one frame of the points since the
    frame it relayed before (never a backlog: a slow Redis gets fewer, larger frames)."""

    def __init__(self, hub: RedisHub, channel: bytes, run: LabRace):
        super().__init__(hub, channel, run)
        self.sent_seq: Optional[int] = run.seq if run.snapshot is not None else None  # the replay has it
        run.attach(self, replay=False)

    def race_changed(self) -> None:
        self._queue()

    def take(self) -> list[bytes]:
        out, self.texts, self.queued = self.texts, [], False
        race = self.run
        if race.snapshot is not None and race.seq != self.sent_seq and not race.closed:
            out.append(race.frame_text(self.sent_seq).encode())
            self.sent_seq = race.seq
        return out


class _Rounded:
    """The mirror's `session` for LabRace's frames: relayed points are rounded already."""

    @staticmethod
    def rounded(points: list) -> list:
        return list(points)

    rounded_costs = rounded


class _Mirror:
    """What the two mirrors share (RemoteRun, RemoteRace): listening on a run's channel while it
    has local viewers, after asking its holder for a replay (`follow_run`); a viewer that comes
    while it is synced catches up from what the mirror keeps (`_catch_up`); `_reset` forgets what
    it kept before listening again."""

    def _mirror(self, remote: "RedisRooms", room: "Room", key: str) -> None:
        self.remote, self.room, self.key = remote, room, key
        self.channel = remote.hub.channel(f"room:{room.code}:run:{key}")
        self.synced = False
        self.unlisten: Optional[Callable[[], None]] = None

    def _listen(self) -> None:
        self.unlisten = self.remote.hub.listen(self.channel, self.on_message)
        self._ask_replay()

    def _ask_replay(self) -> None:
        self.room.publish({"type": "follow_run", "run": self.key, "process": self.remote.hub.pid})

    def attach(self, viewer, replay: bool = True) -> None:
        if viewer in self.viewers:
            return
        self.viewers.append(viewer)
        if self.unlisten is None:
            self._reset()
            self._listen()
        elif self.synced:
            self._catch_up(viewer, replay)

    def detach(self, viewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        if not self.viewers:
            self.close()

    def close(self) -> None:
        """Stop listening (the mirror is used again, re-synced, when a viewer comes back)."""
        self.viewers.clear()
        if self.unlisten is not None:
            self.unlisten()
            self.unlisten = None
        self.synced = False


class RemoteRace(_Mirror, LabRace):
    """An optimizer race held by another process, as its local viewers see it: the paths rebuilt
    from the relayed frames into snapshots of its own (`seq`), so each local viewer's RaceFeed
    sends it the newest one at its own pace, as from a local race."""

    def __init__(self, remote: "RedisRooms", room: "Room", key: str):
        super().__init__()
        self._mirror(remote, room, key)
        self.session = _Rounded()
        self.tracks: dict[tuple[str, str], list] = {}
        self.revisions: dict[tuple[str, str], int] = {}  # bumped when a relayed frame replaces points

    @property
    def configured(self) -> bool:
        return self.state_text is not None

    def _catch_up(self, viewer, replay: bool) -> None:
        if replay:
            for text in self.replay:
                viewer.send_text(text)
        if self.snapshot is not None:
            viewer.race_changed()

    def _reset(self) -> None:
        self.synced, self.surface_text, self.state_text, self.diverged_texts = False, None, None, []
        self.snapshot, self.tracks, self._texts, self.revisions = None, {}, {}, {}
        self.lengths.clear()  # the viewers' next frames carry whole paths

    async def settings(self, timeout: float = REQUEST_SECONDS) -> Optional[dict]:
        """The race's current settings, asked of its holder (a fork's `configure`)."""
        blob = await self.remote.request(self.room, {"type": "export_run", "run": self.key}, timeout)
        if blob is None:
            raise asyncio.TimeoutError
        return json.loads(blob)

    def configure_message(self) -> Optional[dict]:
        return None  # known to the holder only: `await settings()`

    def on_replay(self, texts: list[str], frame: Optional[bytes]) -> None:
        if self.unlisten is None:
            return
        self._reset()
        self.synced = True
        for text in texts:
            self._keep(text)
            for viewer in list(self.viewers):
                viewer.send_text(text)
        if frame:
            self._apply(json.loads(frame))

    def on_message(self, data: bytes) -> None:
        if not self.synced:
            return  # what came before the replay is in it
        text = data.decode()
        if message_kind(text) == "frame":
            self._apply(json.loads(text))
            return
        self._keep(text)
        for viewer in list(self.viewers):
            viewer.send_text(text)

    def _keep(self, text: str) -> None:
        """The latest run-wide texts, as LabRace.broadcast keeps them for a joining viewer."""
        kind = message_kind(text)
        if kind == "surface":
            self.surface_text, self.state_text, self.diverged_texts = text, None, []
        elif kind == "state":
            state = json.loads(text)
            if state.get("generation") != self.generation:
                self.diverged_texts = []  # a reset: the holder's replay drops them too
            self.state_text, self.status, self.generation = text, state["status"], state.get("generation", 0)
            speed = state.get("speed") or {}
            self.steps_per_frame = speed.get("steps_per_frame", self.steps_per_frame)
            self.fps = speed.get("fps", self.fps)
        else:
            self.diverged_texts.append(text)

    def _apply(self, frame: dict) -> None:
        """A relayed frame's points added to the paths; the result is the newest snapshot."""
        racers = []
        for path in frame["paths"]:
            info = {k: v for k, v in path.items() if not k.startswith(("points", "batch_points", "costs", "batch_costs"))}
            views = {}
            for key, costs in (("points", "costs"), ("batch_points", "batch_costs")):
                if key not in path:
                    views[key] = None
                    continue
                have = self.tracks.setdefault((info["id"], key), [])
                have_costs = self.tracks.setdefault((info["id"], costs), [])
                start = path[key + "_from"]
                if start > len(have):  # a gap (should not happen): ask for the whole race again
                    self.synced = False
                    self._ask_replay()
                    return
                if start < len(have):  # points replaced (a replayed path): viewers get it whole
                    self.revisions[(info["id"], key)] = self.revisions.get((info["id"], key), 0) + 1
                del have[start:], have_costs[start:]
                have.extend(path[key])
                have_costs.extend(path.get(costs, []))
                views[key] = TrackView(have, len(have), have_costs, self.revisions.get((info["id"], key), 0))
            racers.append(RacerView(info["id"], views["points"], views["batch_points"], info))
        ids = {(r.id, k) for r in racers for k in ("points", "batch_points", "costs", "batch_costs")}
        self.tracks = {k: v for k, v in self.tracks.items() if k in ids}
        snap = Snapshot(frame["generation"], frame["step"], tuple(racers))
        self.seq += 1
        self.snapshot, self.snapshot_status, self._texts = snap, frame["status"], {}
        self.lengths[self.seq] = (snap.generation, track_lengths(snap))
        while len(self.lengths) > HISTORY:
            self.lengths.popitem(last=False)
        for viewer in list(self.viewers):
            viewer.race_changed()


class RemoteRun(_Mirror):
    """A run held by another process, as its local viewers see it (the LiveRun calls they use):
    subscribed to the run's channel while it has viewers; the holder's replay (its `data`, latest
    `state`, done/diverged, last frame: server/live_run.py `replayed`) comes first on this
    process's channel, then the live stream."""

    def __init__(self, remote: "RedisRooms", room: "Room", key: str):
        self._mirror(remote, room, key)
        self.viewers: list = []
        self.replay: list[str] = []
        self.last_frame: Optional[bytes] = None
        self.running = False  # is_running(self.replay)
        self.csv: Any = None
        self.owner = None

    configured = LiveRun.configured

    def _reset(self) -> None:
        self.replay, self.last_frame = [], None

    def _catch_up(self, viewer, replay: bool) -> None:
        if replay:
            for text in self.replay:
                viewer.send_text(text)
            if self.last_frame is not None:
                viewer.offer(self.last_frame)

    def ask(self) -> None:
        pass  # the holder's relay always takes frames; each viewer's mailbox keeps the newest

    def on_replay(self, texts: list[str], frame: Optional[bytes]) -> None:
        if self.unlisten is None:
            return
        self.synced, self.replay, self.last_frame = True, list(texts), frame
        self.running = is_running(self.replay)
        for viewer in list(self.viewers):
            for text in texts:
                viewer.send_text(text)
            if frame is not None:
                viewer.offer(frame)

    def on_message(self, data: bytes) -> None:
        if not self.synced:
            return  # what came before the replay is in it
        if data[:4] == MAGIC:
            self.last_frame = data
            FANOUT.offer(self, data, thin=self.running)  # thinned when this process's loop lags (server/fanout.py)
            return
        text = data.decode()
        self.replay = replayed(self.replay, text)
        self.running = is_running(self.replay)
        for viewer in list(self.viewers):
            viewer.send_text(text)

    async def export(self, timeout: float = REQUEST_SECONDS) -> bytes:
        blob = await self.remote.request(self.room, {"type": "export_run", "run": self.key}, timeout)
        if blob is None:
            raise asyncio.TimeoutError
        return blob


class RedisRooms:
    """The cross-process part of the rooms of one process (see the module's docstring)."""

    EVENTS = frozenset(("follow_run", "export_run", "holder"))

    def __init__(self, url: str, manager: "RoomManager"):
        self.manager = manager
        self.hub = RedisHub(url)
        self.hub.proc_handler = self._on_proc
        self.pid = self.hub.pid
        self.store = RedisRoomStore(self.hub, manager.settings.room_idle, manager.settings.room_grace)
        self.bus = RedisRoomBus(self.hub)
        self.mirrors: dict[tuple[str, str], RemoteRun | RemoteRace] = {}
        self.relays: dict[tuple[str, str], RunRelay | RaceRelay] = {}
        self.thumbs_written: dict[tuple[str, int], bytes] = {}   # the frame each stored thumbnail is from
        self.thumbs_read: dict[tuple[str, int], bytes] = {}      # the stored thumbnail last sent to a teacher

    async def start(self) -> None:
        while True:  # `python -m server` checked Redis at start; it may be restarting meanwhile
            try:
                await self.hub.start()
                return
            except (OSError, aioredis.RedisError) as exc:
                log.error("cannot reach Redis (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        await self.hub.stop()

    # ------------------------------------------------------------------ runs
    def mirror(self, room: "Room", key: str) -> RemoteRun:
        mirror = self.mirrors.get((room.code, key))
        if mirror is None or mirror.room is not room:
            kind = RemoteRace if room.kind == "lab" else RemoteRun
            mirror = self.mirrors[(room.code, key)] = kind(self, room, key)
        return mirror

    def local_run(self, room: "Room", key: str, make: bool = False) -> Optional[LiveRun]:
        """The run `key` if this process holds it (the teacher's is made on a follower's request:
        the relay is then on it when the teacher configures it)."""
        if key == "teacher":
            if not room.holds_run:
                return None
            return room.teacher_run if make else room._teacher_run
        seat = room.students.get(int(key[1:])) if key[1:].isdigit() else None
        return seat.own if seat is not None else None

    def on_event(self, room: "Room", event: dict) -> bool:
        """Handle a cross-process request; False for the room's own events."""
        kind = event["type"]
        if kind not in self.EVENTS:
            return False
        if event.get("process") == self.pid:
            return True
        if kind == "follow_run":
            run = self.local_run(room, event["run"], make=True)
            if run is not None and not run.closed:
                self._relay(room, event["run"], run)
                frame = run.last_frame or b""
                if isinstance(run, LabRace):  # a late joiner's race: whole paths
                    frame = run.frame_text(None).encode() if run.snapshot is not None else b""
                self.hub.send_to(event["process"], {"kind": "replay", "code": room.code, "run": event["run"],
                                                    "texts": run.replay}, frame)
        elif kind == "export_run":
            run = self.local_run(room, event["run"])
            if run is not None and not run.closed:
                asyncio.get_running_loop().create_task(self._export(run, event))
        elif kind == "holder":
            self._lost_run(room, event["process"])
        return True

    def _relay(self, room: "Room", key: str, run: LiveRun) -> None:
        relay = self.relays.get((room.code, key))
        if relay is not None and relay.run is run:
            return
        if relay is not None:
            relay.close()
        kind = RaceRelay if isinstance(run, LabRace) else RunRelay
        self.relays[(room.code, key)] = kind(self.hub, self.hub.channel(f"room:{room.code}:run:{key}"), run)

    async def _export(self, run: LiveRun, event: dict) -> None:
        header = {"kind": "reply", "rid": event["rid"], "ok": False}
        blob = b""
        if isinstance(run, LabRace):  # a race's fork is settings-based: its `configure`
            config = run.configure_message()
            if config is not None:
                blob, header["ok"] = json.dumps(config).encode(), True
        elif run.configured:
            try:
                blob = await run.export()
                header["ok"] = True
            except asyncio.TimeoutError:
                pass
        self.hub.send_to(event["process"], header, blob)

    async def request(self, room: "Room", event: dict, timeout: float) -> Optional[bytes]:
        """Ask the process holding a run (a room event) and wait for its answer: the body, or None."""
        rid = secrets.token_hex(8)
        waiter = asyncio.get_running_loop().create_future()
        self.hub.requests[rid] = waiter
        room.publish({**event, "process": self.pid, "rid": rid})
        try:
            ok, body = await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self.hub.requests.pop(rid, None)
        return body if ok else None

    def _on_proc(self, header: dict, body: bytes) -> None:
        if header.get("kind") == "replay":
            mirror = self.mirrors.get((header["code"], header["run"]))
            if mirror is not None:
                mirror.on_replay(header["texts"], body or None)

    # ------------------------------------------------------------------ the teacher's run moves
    async def claim(self, room: "Room") -> None:
        """The teacher joined this process: the room's run moves here (its state exported by the
        process that held it, if that one answers; else a fresh run)."""
        blob = await self.request(room, {"type": "export_run", "run": "teacher"}, REQUEST_SECONDS / 2)
        channel = self.hub.channel(f"room:{room.code}:run:teacher")
        followed = dict(await self.hub.client.pubsub_numsub(channel)).get(channel, 0)
        old = self.mirrors.pop((room.code, "teacher"), None)
        if old is not None:
            followed -= bool(old.unlisten)
            old.close()
        room.holder = self.pid
        await self.manager.store.update_room(room.code, holder=self.pid)
        room.publish({"type": "holder", "process": self.pid})
        run = room.teacher_run
        if followed > 0:  # other processes' followers keep listening on the same channel
            self._relay(room, "teacher", run)
        if blob is not None and isinstance(run, LabRace):  # a fresh race with the teacher's settings
            from server import lab_protocol as lp
            await run.command(lp.Configure.model_validate(json.loads(blob)))
        elif blob is not None:
            run.send("import", state=blob)
        for seat in list(room.students.values()):
            seat.refollow()

    def _lost_run(self, room: "Room", holder: str) -> None:
        """Another process took the room's run (its teacher joined there)."""
        room.holder = holder
        if room.teacher is not None:
            room.teacher.error("", "the teacher link was opened in another page: this one is closed")
            room.teacher.close(1000, "replaced")
            room.teacher.role = "replaced"
            room.teacher = None
        relay = self.relays.pop((room.code, "teacher"), None)
        if relay is not None:
            relay.close()
        run, room._teacher_run = room._teacher_run, None
        for seat in list(room.students.values()):
            seat.refollow()
        if run is not None:
            run.close()

    # ------------------------------------------------------------------ tick, thumbnails, end
    async def tick(self, room: "Room") -> None:
        """Drop the relays nobody elsewhere listens to; store this process's students' thumbnails."""
        mine = [(key, relay) for (code, key), relay in self.relays.items() if code == room.code]
        if mine:
            counts = dict(await self.hub.client.pubsub_numsub(*[relay.channel for _, relay in mine]))
            for key, relay in mine:
                if relay.run.closed or not counts.get(relay.channel):
                    relay.close()
                    self.relays.pop((room.code, key), None)
        thumbs = {}
        for student_id, seat in room.students.items():
            frame = seat.own.last_frame if seat.own is not None else None
            if frame is not None and self.thumbs_written.get((room.code, student_id)) is not frame:
                self.thumbs_written[(room.code, student_id)] = frame
                thumb = thumbnail(frame)
                if thumb is not None:
                    thumbs[student_id] = thumb
        await self.store.put_thumbnails(room.code, thumbs)

    async def remote_thumbnails(self, room: "Room") -> dict[int, Thumbnail]:
        """The stored thumbnails of the students of other processes not sent to the teacher yet."""
        out = {}
        for student_id, data in (await self.store.thumbnails(room.code)).items():
            if student_id in room.students or self.thumbs_read.get((room.code, student_id)) == data:
                continue
            self.thumbs_read[(room.code, student_id)] = data
            out[student_id] = decode_thumbnail(data)
        return out

    def forget(self, room: "Room") -> None:
        for table in (self.mirrors, self.relays):
            for key in [k for k in table if k[0] == room.code]:
                table.pop(key).close()
        for table in (self.thumbs_written, self.thumbs_read):
            for key in [k for k in table if k[0] == room.code]:
                del table[key]
