"""A lab room's socket (`/ws/room/{code}` of a room made with `{"kind": "lab"}`; docs/protocol.md
"Rooms", docs/lab.md "Lab rooms"): the classroom room of server/room_socket.py with the optimizer
race (server/lab_race.py) as the room's run and as each student's own run.

Everything a room is (join, roster, modes, pause, spotlight, close, grace and idle ends, caps) is
RoomSocket's; this only says how a race is driven, fed, forked and summed up:
- the lab's messages (server/lab_protocol.py) drive the teacher's race, or a student's own race
  in own mode; followers get the followed race's `surface`, `state`, `diverged` and JSON frames
  (one computation, the same texts), each at most `fps` frames per second, newest first;
- `fork` and `push` configure the student's own race with the race's current settings (its live
  changes included): a fresh race from the start point, at step 0 (on Redis, a race held by
  another process gives its settings in the answer to an `export_run` request);
- the roster line: the race's status, its step, and per optimizer its status, steps and cost.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from server import lab_protocol as lp
from server.lab_race import LabRace, RaceFeed, dumps
from server.protocol import ProtocolError
from server.room_protocol import LAB_TYPES, parse_lab_student, parse_lab_teacher
from server.room_socket import RoomSocket


class LabRoomSocket(RoomSocket):
    teacher_parser, student_parser, training_types = parse_lab_teacher, parse_lab_student, LAB_TYPES
    dumps = staticmethod(dumps)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feed = RaceFeed()

    # ------------------------------------------------------------------ the kind's hooks
    def new_run(self) -> LabRace:
        return LabRace()

    async def forward(self, race: LabRace, request) -> None:
        await race.command(request)

    def pause_run(self, race: LabRace) -> None:
        race.pause()

    def run_config(self, race: LabRace) -> Optional[dict]:
        return race.configure_message()

    def push(self, config: dict, csv) -> None:
        """The teacher's settings for this student's own race (a fresh race at step 0)."""
        self.spawn(self._own_run().command(lp.Configure.model_validate(config)))

    async def _fork(self) -> None:
        if self.mode != "follow":
            raise ProtocolError("type", f"fork copies the race you follow, but you are in {self.mode} mode", "fork")
        source = self.room.followed()
        try:
            config = await source.settings() if source.configured else None  # on Redis: asked of its holder
        except asyncio.TimeoutError:
            raise ProtocolError("type", "the race's settings could not be copied: try again", "fork") from None
        if config is None:
            raise ProtocolError("type", "nothing to fork yet: the teacher's race has not started", "fork")
        if self.closed or self.mode != "follow":
            return
        if self.own is not None:
            self.own.close()
            self.own = None
        race = self._own_run()
        race.steps_per_frame = source.steps_per_frame
        self.mode = "own"
        self.reply({"type": "mode", "mode": "own", "message": None, "forked": True})
        self.watch(race)
        await race.command(lp.Configure.model_validate(config))

    def summary(self) -> dict:
        entry = {"mode": self.mode}
        race = self.own
        if race is None or not race.configured or race.snapshot is None:
            entry.update(status="following" if self.mode == "follow" else "idle", iteration=None, race=None)
        else:
            snap = race.snapshot
            entry.update(status=race.status, iteration=snap.step, race=[
                {key: r.info[key] for key in ("id", "name", "status", "steps", "cost")} for r in snap.racers])
        return self._changed(entry)

    # ------------------------------------------------------------------ as a viewer of one race
    def watch(self, run: Optional[LabRace]) -> None:
        super().watch(run)
        self.feed.watch(run)

    def credit(self) -> None:
        """`ready` means nothing here: a race's frames are paced by time."""

    def race_changed(self) -> None:
        self.wake.set()

    def next_frame(self):
        return self.feed.next_frame()
