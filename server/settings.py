"""Server settings: one dataclass filled from the command line (server/__main__.py) or by tests."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from server.limits import DEFAULT_FPS, DEFAULT_ROOM_SIZE, MAX_FPS, ROOM_IDLE_SECONDS, TEACHER_GRACE_SECONDS

DEFAULT_DB_PATH = Path.home() / ".nn-playground" / "runs.sqlite3"
# FastAPI's TestClient sends `Host: testserver`. Settings() made in-process (the TestClient tests)
# allow it; `python -m server` always passes its own list (--allow-host), so a real server never does.
TEST_CLIENT_HOST = "testserver"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    db_path: Path = DEFAULT_DB_PATH          # created (with its folder) on the first saved run
    allow_origins: list[str] = field(default_factory=list)  # extra origins (websockets and POST...), e.g. "http://lab:8000"
    # Host names served besides IP literals and localhost (DNS rebinding, server/origins.py); '*' = any
    allow_hosts: list[str] = field(default_factory=lambda: [TEST_CLIENT_HOST])
    fps: int = DEFAULT_FPS                  # default frame rate of a session (the client may change it)
    workers: int = 0                        # training processes; 0 = one per CPU core
    room_size: int = DEFAULT_ROOM_SIZE      # students per classroom room
    room_grace: float = TEACHER_GRACE_SECONDS  # seconds a room waits for a disconnected teacher
    room_idle: float = ROOM_IDLE_SECONDS    # seconds without a teacher's message before a room ends
    redis_url: Optional[str] = None         # rooms shared by server processes on Redis (None: in this process)
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"

    def __post_init__(self) -> None:
        self.db_path = Path(self.db_path).expanduser()
        if not 1 <= self.fps <= MAX_FPS:
            raise ValueError(f"fps must be in [1, {MAX_FPS}] (got {self.fps})")
        if self.workers < 0:
            raise ValueError(f"workers must be ≥ 0 (got {self.workers})")
        if self.room_size < 1:
            raise ValueError(f"room_size must be ≥ 1 (got {self.room_size})")
        if self.room_grace <= 0 or self.room_idle <= 0:
            raise ValueError("room_grace and room_idle must be > 0 seconds")
        self.allow_origins = [o.rstrip("/") for o in self.allow_origins]
        self.allow_hosts = [h.strip().lower() for h in self.allow_hosts]
        for name in self.allow_hosts:
            if not name or "/" in name or " " in name:
                raise ValueError(f"allow-host takes a host name such as laptop.local (got {name!r})")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"redis URL must start with redis://, rediss:// or unix:// (got {self.redis_url!r})")

    @property
    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)
