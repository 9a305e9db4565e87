"""A room's websocket (/ws/room/{code}): the `join` handshake, then a teacher's or a student's
socket (docs/protocol.md "Rooms").

- Teacher: owner and viewer of the room's run (every /ws message drives it), plus mode, push,
  spotlight and close_room. The run belongs to the room, so a teacher who reconnects with the
  token finds it as it was (replayed state and last frame).
- Student: a viewer of the run the class follows (the teacher's or the spotlit student's) and,
  in own mode or after a fork, owner and viewer of a run of their own. One socket watches one run
  at a time through one FrameSlot: its `ready` credits pace only what it receives.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Optional

from starlette.websockets import WebSocket

from engine.config import TrainConfig
from server import limits
from server.commands import TrainingCommands
from server.live_run import LiveRun, SocketViewer, message_kind
from server.protocol import ProtocolError, Ready
from server.room_protocol import TEACHER_ONLY, TRAINING_TYPES, parse_join, parse_student, parse_teacher
from server.rooms import Room, RoomManager
from server.room_store import StudentRecord
from server.socket_base import SERVER_FULL, FrameSlot, SocketBase
from server.frames import frame_header

REFUSED = 1008  # unknown room, wrong token, too many failed joins


class RoomSocket(SocketViewer, SocketBase):
    snapshot_kinds = frozenset({"data", "state"})  # a follower needs only the newest of each (as on /ws)

    def __init__(self, ws: WebSocket, code: str, manager: RoomManager, commands: TrainingCommands):
        super().__init__(ws, parse_join, label=f"room {code}", ready=Ready(type="ready"))
        self.code, self.manager, self.commands = code.upper(), manager, commands
        self.role: Optional[str] = None
        self.room: Optional[Room] = None
        self.slot = FrameSlot()
        self.watching: Optional[LiveRun] = None   # the run whose frames this socket receives
        self.own: Optional[LiveRun] = None        # a student's own run
        self.student: Optional[StudentRecord] = None
        self.mode = "follow"                      # a student's mode (own after a fork)
        self._summary: dict = {}
        self._summary_frame: Optional[bytes] = None
        self._frame_stats: dict = {"status": "ready", "iteration": 0, "train": None, "dev": None}

    # ------------------------------------------------------------------ what a room's kind decides
    # (a lab room's socket, server/lab_room.py, overrides these for the optimizer race)
    teacher_parser, student_parser, training_types = parse_teacher, parse_student, TRAINING_TYPES

    def new_run(self) -> LiveRun:
        """A student's own run."""
        return LiveRun(self.manager.pool, owner=self, affinity=self.code)  # the class: one worker

    async def forward(self, run: LiveRun, request) -> None:
        await self.commands.forward(run, request)

    def pause_run(self, run: LiveRun) -> None:
        run.send("pause")

    def run_config(self, run: LiveRun) -> Optional[dict]:
        """What `push` gives every student (None before the run is configured)."""
        return _state_config(run)

    # ------------------------------------------------------------------ lifecycle
    async def on_open(self) -> None:
        self.spawn(self._join_deadline())

    async def _join_deadline(self) -> None:
        await asyncio.sleep(limits.JOIN_SECONDS)
        if self.role is None:
            self.error("type", f"send join within {limits.JOIN_SECONDS} s of connecting", None)
            self.close(REFUSED, "no join")

    async def on_close(self) -> None:
        if self.role == "teacher":
            await self._teacher_left()
        elif self.role == "student":
            spotlit = self.room.spotlight == self.student.student_id
            self.leave()
            await self.manager.store.remove_student(self.code, self.student.student_id)
            if spotlit and self.code in self.manager.rooms:  # a process joining later reads the record
                await self.manager.store.update_room(self.code, spotlight=None)

    def refuse(self, field: str, message: str, code: int = REFUSED) -> None:
        self.error(field, message, "join")
        self.close(code, message[:100])

    # ------------------------------------------------------------------ join
    async def dispatch(self, request) -> None:
        if self.role is None:
            await self._join(request)
        elif self.role == "teacher":
            await self._teacher(request)
        else:
            await self._student(request)

    async def _join(self, request) -> None:
        address = self.ws.client.host if self.ws.client else "?"
        guard = self.manager.guard
        if not guard.allowed(address):
            self.refuse("code", f"too many failed joins from your address: at most {limits.JOIN_FAILURES} "
                                f"per {limits.JOIN_FAILURE_WINDOW:g} s; wait and try again")
            return
        record = await self.manager.store.get_room(self.code)
        room = self.manager.rooms.get(self.code)
        if record is not None and room is None and self.manager.remote is not None:
            room = self.manager.attach(record)  # a room made by another server process
        if record is None or room is None:
            guard.failed(address)
            self.refuse("code", f"no room with code {self.code!r}: check the code (6 letters and digits)")
            return
        self.room = room
        if request.role == "teacher":
            if not record.token_matches(request.token):
                guard.failed(address)
                self.refuse("token", "wrong teacher token for this room")
                return
            await self._teacher_joined()
        else:
            student = await self.manager.store.add_student(self.code, request.name, self.manager.settings.room_size)
            if student is None:
                self.refuse("code", f"the room is full ({self.manager.settings.room_size} students)", SERVER_FULL)
                return
            self._student_joined(student)

    # ------------------------------------------------------------------ teacher
    async def _teacher_joined(self) -> None:
        room = self.room
        if room.teacher is not None:  # the teacher link opened again elsewhere: the newest wins
            room.teacher.error("", "the teacher link was opened in another page: this one is closed")
            room.teacher.close(1000, "replaced")
            room.teacher.role = "replaced"
        if not room.holds_run:  # on Redis: the room's run moves to the teacher's process
            await self.manager.remote.claim(room)
        self.role, self.parser = "teacher", self.teacher_parser
        room.teacher = self
        room.teacher_run.owner = self
        await self.manager.store.update_room(self.code, teacher_connected=True, teacher_left=None,
                                             last_activity=time.time())
        self.reply({"type": "joined", "role": "teacher", "code": self.code, "mode": room.mode,
                    "message": room.message, "spotlight": room.spotlight})
        self.watch(room.teacher_run)

    async def _teacher_left(self) -> None:
        room = self.room
        if room is None or room.teacher is not self:
            return
        room.teacher = None
        room.teacher_run.owner = None
        room.teacher_run.detach(self)
        if self.code in self.manager.rooms:
            await self.manager.store.update_room(self.code, teacher_connected=False, teacher_left=time.time())

    async def _teacher(self, request) -> None:
        room = self.room
        if request.type != "ready":
            await self.manager.store.update_room(self.code, last_activity=time.time())
        if request.type == "ready":
            self.credit()
        elif request.type in self.training_types:
            await self.forward(room.teacher_run, request)
        elif request.type == "mode":
            room.publish({"type": "mode", "mode": request.mode, "message": request.message})
            await self.manager.store.update_room(self.code, mode=request.mode, message=request.message)
            self.reply({"type": "mode", "mode": request.mode, "message": request.message})
        elif request.type == "push":
            config = self.run_config(room.teacher_run)
            if config is None:
                raise ProtocolError("type", "nothing to push yet: configure your run first", "push")
            room.publish({"type": "push", "config": config})
            count = len(room.students) if self.manager.remote is None \
                else len(await self.manager.store.students(self.code))
            self.reply({"type": "pushed", "students": count})
        elif request.type == "spotlight":
            await self._spotlight(request.student_id)
        elif request.type == "close_room":
            await self.manager.end(self.code, "closed by the teacher")

    async def _spotlight(self, student_id: Optional[int]) -> None:
        room, name = self.room, None
        if student_id is not None:
            seat = room.students.get(student_id)
            if seat is not None:
                student, configured = seat.student, seat.own is not None and seat.own.configured
            else:  # on Redis: a student of another process, as its last roster summary says
                student = next((s for s in await self.manager.store.students(self.code)
                                if s.student_id == student_id), None) if self.manager.remote is not None else None
                configured = student is not None and student.status not in ("following", "idle")
            if student is None:
                raise ProtocolError("student_id", f"no student with id {student_id} in this room", "spotlight")
            if not configured:
                raise ProtocolError("student_id", f"student {student_id} has no run of their own yet", "spotlight")
            name = student.name
        room.publish({"type": "spotlight", "student_id": student_id, "name": name})
        await self.manager.store.update_room(self.code, spotlight=student_id)
        self.reply({"type": "spotlight", "student_id": student_id, "name": name})

    # ------------------------------------------------------------------ student
    def _student_joined(self, student: StudentRecord) -> None:
        room = self.room
        self.role, self.parser, self.student = "student", self.student_parser, student
        self.label = f"room {self.code} student {student.student_id}"
        room.students[student.student_id] = self
        self.reply({"type": "joined", "role": "student", "student_id": student.student_id, "name": student.name,
                    "mode": room.mode, "message": room.message, "spotlight": room.spotlight})
        self.room_mode(room.mode, room.message, announce=False)

    def room_mode(self, mode: str, message: Optional[str], announce: bool = True) -> None:
        """The teacher set the class's mode (a fork's own mode ends here too)."""
        self.mode = mode
        if announce:
            self.reply({"type": "mode", "mode": mode, "message": message})
        if mode == "follow":
            if self.own is not None:  # unwatched, it would train on for nobody
                self.pause_run(self.own)
            self.watch(self.room.followed())
        elif mode == "own":
            self.watch(self._own_run())
        else:  # paused: the page freezes on what it shows; an own run stops training
            if self.own is not None:
                self.pause_run(self.own)
            self.watch(None)

    def refollow(self) -> None:
        if self.mode == "follow":
            self.watch(self.room.followed())

    def push(self, config: dict, csv) -> None:
        """The teacher's config for this student's own run (fresh weights)."""
        run = self._own_run()
        run.csv = csv
        run.send("configure", config=TrainConfig.model_validate(config), csv=csv, init_parameters=None)

    def leave(self) -> None:
        """Free this student's runs at once (disconnect, or the room ended)."""
        room = self.room
        if self.watching is not None:
            self.watching.detach(self)
            self.watching = None
        if self.own is not None:
            self.own.close()
        if room.students.get(self.student.student_id) is self:
            del room.students[self.student.student_id]
            room.thumbs_sent.pop(self.student.student_id, None)
            if room.spotlight == self.student.student_id and self.code in self.manager.rooms:
                room.publish({"type": "spotlight", "student_id": None, "name": None})
                if room.teacher is not None:
                    room.teacher.reply({"type": "spotlight", "student_id": None, "name": None})
        self.own = None

    def _own_run(self) -> LiveRun:
        if self.own is None:
            self.own = self.new_run()
        return self.own

    async def _student(self, request) -> None:
        kind = request.type
        if kind == "ready":
            self.credit()
        elif kind in TEACHER_ONLY:
            raise ProtocolError("type", f"only the teacher can send {kind!r}", kind)
        elif kind == "fork":
            await self._fork()
        elif self.mode == "own":
            await self.forward(self._own_run(), request)
        elif self.mode == "paused":
            raise ProtocolError("type", "the class is in paused mode: training is stopped until the teacher "
                                        "resumes" + (f" ({self.room.message})" if self.room.message else ""), kind)
        else:
            raise ProtocolError("type", "the class is in follow mode: you are watching the teacher's run; "
                                        "fork it to train your own copy", kind)

    async def _fork(self) -> None:
        if self.mode != "follow":
            raise ProtocolError("type", f"fork copies the run you follow, but you are in {self.mode} mode", "fork")
        source = self.room.followed()
        if not source.configured:
            raise ProtocolError("type", "nothing to fork yet: the teacher's run has not started", "fork")
        try:
            state = await source.export()
        except asyncio.TimeoutError:
            raise ProtocolError("type", "the run could not be copied: try again", "fork") from None
        if self.closed or self.mode != "follow":
            return
        if self.own is not None:
            self.own.close()
            self.own = None
        run = self._own_run()
        run.csv = source.csv
        self.mode = "own"
        self.reply({"type": "mode", "mode": "own", "message": None, "forked": True})
        self.watch(run)
        run.send("import", state=state)

    # ------------------------------------------------------------------ as a viewer of one run
    def watch(self, run: Optional[LiveRun]) -> None:
        if run is self.watching:
            return
        if self.watching is not None:
            self.watching.detach(self)
        self.slot.frame = None  # a frame of the previous run must not follow the new run's state
        self.watching = run
        if run is not None:
            run.attach(self)

    @property
    def viewed(self) -> Optional[LiveRun]:
        return self.watching

    # ------------------------------------------------------------------ the roster's line
    def summary(self) -> dict:
        """What changed in this student's roster entry since the last call."""
        entry = {"mode": self.mode}
        run = self.own
        if run is None or not run.configured:
            entry.update(status="following" if self.mode == "follow" else "idle", iteration=None, train=None, dev=None)
        else:
            if run.last_frame is not None and run.last_frame is not self._summary_frame:
                self._summary_frame = run.last_frame
                header = frame_header(run.last_frame)
                self._frame_stats = {"status": header["status"], "iteration": header["iteration"],
                                     "train": _costs(header.get("train")), "dev": _costs(header.get("dev"))}
            entry.update(self._frame_stats)
            if message_kind(run.replay[-1]) == "diverged":
                entry["status"] = "diverged"
        return self._changed(entry)

    def _changed(self, entry: dict) -> dict:
        changes = {k: v for k, v in entry.items() if self._summary.get(k, ...) != v}
        self._summary.update(changes)
        return changes


def _costs(metrics: Optional[dict]) -> Optional[dict]:
    return None if not metrics else {"cost": metrics.get("cost"), "accuracy": metrics.get("accuracy")}


def _state_config(run: LiveRun) -> Optional[dict]:
    """The run's config with its live changes, from its latest `state` message."""
    for text in run.replay:
        if message_kind(text) == "state":
            return json.loads(text)["config"]
    return None

