"""`python -m server` / `nn-playground`: start the playground on http://127.0.0.1:8000 (offline)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.limits import DEFAULT_FPS, DEFAULT_ROOM_SIZE, MAX_FPS, ROOM_IDLE_SECONDS, TEACHER_GRACE_SECONDS, WS_MAX_SIZE
from server.settings import DEFAULT_DB_PATH, Settings


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(prog="nn-playground", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB_PATH,
                        help=f"SQLite file of saved runs, created on first save (default {DEFAULT_DB_PATH})")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="extra origin allowed to open websockets and send POST/PUT/PATCH/DELETE, "
                             "e.g. http://laptop.local:8000 (repeatable; * = any; default: same origin only)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="host name this server answers to besides IP addresses and localhost, e.g. "
                             "laptop.local (repeatable; * = any; refuses DNS rebinding otherwise)")
    parser.add_argument("--fps", type=int, default=DEFAULT_FPS,
                        help=f"default frames per second of a session, 1..{MAX_FPS} (default {DEFAULT_FPS})")
    parser.add_argument("--workers", type=int, default=0, help="training processes (default: one per CPU core)")
    parser.add_argument("--room-size", type=int, default=DEFAULT_ROOM_SIZE,
                        help=f"students per classroom room (default {DEFAULT_ROOM_SIZE})")
    parser.add_argument("--room-grace", type=float, default=TEACHER_GRACE_SECONDS,
                        help=f"seconds a room waits for its disconnected teacher (default {TEACHER_GRACE_SECONDS})")
    parser.add_argument("--room-idle", type=float, default=ROOM_IDLE_SECONDS,
                        help=f"seconds without a teacher's message before a room ends (default {ROOM_IDLE_SECONDS})")
    parser.add_argument("--redis", default=None, metavar="URL",
                        help="share classroom rooms between server processes on Redis, e.g. redis://HOST:6379/0 "
                             "(default: rooms live in this process)")
    args = parser.parse_args(argv)
    try:
        return Settings(host=args.host, port=args.port, db_path=args.db, allow_origins=args.allow_origin,
                        allow_hosts=args.allow_host,
                        fps=args.fps, workers=args.workers,
                        room_size=args.room_size, room_grace=args.room_grace, room_idle=args.room_idle,
                        redis_url=args.redis)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def _check_redis(url: str) -> None:
    """Fail at start, with the reason, when --redis names a server that does not answer."""
    import asyncio

    import redis.asyncio as aioredis

    async def ping() -> None:
        client = aioredis.from_url(url, socket_connect_timeout=5)
        try:
            await client.ping()
        finally:
            await (getattr(client, "aclose", None) or client.close)()
    try:
        asyncio.run(ping())
    except Exception as exc:  # noqa: BLE001 - any failure: say which server and why
        sys.exit(f"nn-playground: cannot reach Redis at {url}: {exc}")


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from server.app import create_app
    from server.http_timeouts import HeaderTimeoutProtocol
    from server.limits import KEEP_ALIVE_TIMEOUT

    settings = parse_args(argv)
    if settings.redis_url is not None:
        _check_redis(settings.redis_url)
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"nn-playground: open http://{shown}:{settings.port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                ws_max_size=WS_MAX_SIZE, ws_per_message_deflate=False,
                http=HeaderTimeoutProtocol, timeout_keep_alive=KEEP_ALIVE_TIMEOUT)  # slowloris: server/http_timeouts.py


if __name__ == "__main__":
    sys.exit(main())
