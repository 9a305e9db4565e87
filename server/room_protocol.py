"""Classroom-room messages (docs/protocol.md "Rooms"): pydantic models, the room's limits, and
one parser per role. A teacher's socket takes every /ws message plus the teacher's ones; a
student's every /ws message plus `fork`. A student who sends a teacher's message gets an error
naming it (the message is recognised, never obeyed: its fields are not even read)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from server.lab_protocol import LAB_MESSAGES
from server.protocol import MESSAGE_MODELS, RUN_ID_MAX, MessageParser, _Message, by_type

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L look-alikes
CODE_LENGTH = 6
TOKEN_BYTES = 24                 # teacher token: 192 random bits (secrets.token_urlsafe)
MAX_NAME_CHARS = 40
MAX_PAUSE_MESSAGE_CHARS = 200
TRAINING_TYPES = frozenset(t for t in MESSAGE_MODELS if t != "ready")
LAB_TYPES = frozenset(LAB_MESSAGES)
KINDS = ("playground", "lab")                # a room's kind, chosen at POST /api/rooms


class Join(_Message):
    type: Literal["join"]
    role: Literal["teacher", "student"]
    token: Optional[str] = Field(None, min_length=1, max_length=100, description="the teacher token")
    name: Optional[str] = Field(None, max_length=MAX_NAME_CHARS, description="display name, plain text")


class Mode(_Message):
    type: Literal["mode"]
    mode: Literal["follow", "own", "paused"]
    message: Optional[str] = Field(None, max_length=MAX_PAUSE_MESSAGE_CHARS, description="shown to every student")


class Push(_Message):
    type: Literal["push"]


class Spotlight(_Message):
    type: Literal["spotlight"]
    student_id: Optional[int] = Field(..., ge=1, le=RUN_ID_MAX,  # an id is a 64-bit integer wherever it is kept
                                      description="a student's id, or null for the teacher's run")


class CloseRoom(_Message):
    type: Literal["close_room"]


class Fork(_Message):
    type: Literal["fork"]


TEACHER_ONLY = by_type(Mode, Push, Spotlight, CloseRoom)


class _Refused(BaseModel):
    """What a student's parser makes of a teacher's message: its type only, whatever else it holds."""
    model_config = ConfigDict(extra="ignore")


_REFUSED = {kind: create_model(f"Refused_{kind}", __base__=_Refused, type=(Literal[kind], ...))
            for kind in TEACHER_ONLY}

parse_join = MessageParser(by_type(Join), noun="first message (send join)")
# A lab room (server/lab_room.py): the lab's messages (server/lab_protocol.py) drive the race.
parse_lab_teacher = MessageParser({**LAB_MESSAGES, **TEACHER_ONLY}, noun="message")
parse_lab_student = MessageParser({**LAB_MESSAGES, **by_type(Fork), **_REFUSED}, noun="message")
parse_teacher = MessageParser({**MESSAGE_MODELS, **TEACHER_ONLY}, noun="message")
parse_student = MessageParser({**MESSAGE_MODELS, **by_type(Fork), **_REFUSED}, noun="message")
