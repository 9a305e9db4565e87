"""Classroom-room benchmark (issue 10, "Scale"): starts the real server (`python -m server`) on
free loopback ports, drives one room with simulated lean websocket clients (every client answers
each frame with `ready`, like the browser) and prints, in one run on this machine:

1. the teacher alone: frames/s of the teacher's run (steps_per_frame 5, 30 fps asked);
2. 1 teacher -> N following students (default 500): median frames/s per student, p95 frame age
   (receipt time - the frame's server_time), and the teacher's frames/s meanwhile (vs alone);
3. M students in own mode on one lesson (default 100; the teacher pushes the lesson, every
   student plays their own run): median frames/s per student, p95 frame age, the teacher's
   frames/s; the same on a server started with NN_PLAYGROUND_BATCHING=0 (every session on its own
   Trainer, as before batching), for comparison;
4. when a redis-server binary is present and `python -m server` has `--redis`: figure 2 across
   two server processes sharing the room on Redis (teacher on the first, students split over
   both); else "skipped: ...".

The simulated students share the server's cores (their CPU share is printed, and the server's:
main process + workers, cores used during the measured seconds). The load average before and
after is printed: figures taken while other work runs on the machine are lower. Prints each goal
with "goal met" / "goal missed"; never fails on timing. About two minutes.

    python bench/room_bench.py [--seconds 5] [--followers 500] [--own 100] [--lesson ID]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import orjson  # noqa: E402

from server.frames import frame_header  # noqa: E402
from tests import live_server  # noqa: E402
from tests.live_server import free_port  # noqa: E402
from ws_bench import LeanSocket, p95, run_loop  # noqa: E402

GOALS = {"follow_fps": 10.0, "follow_p95_ms": 250.0, "own_fps": 20.0, "teacher_share": 0.9}
READY = '{"type":"ready"}'


def goal(ok: bool) -> str:
    return "goal met" if ok else "goal missed"


class Peer(LeanSocket):
    """A lean websocket client (bench/ws_bench.py's LeanSocket) that answers every frame with
    `ready`, counts frames and their ages inside the measuring window, keeps the JSON messages and
    sends dicts as JSON."""

    def __init__(self, url: str, clock: "Window"):
        super().__init__(url)
        self.window = clock
        self.messages: list[dict] = []
        self.waiters: list[tuple[str, asyncio.Future]] = []
        self.frames = 0
        self.ages: list[float] = []

    # ------------------------------------------------------------------ messages
    def on_binary(self, data: bytes) -> None:
        self.send(READY)
        if self.window.open:
            header = frame_header(data)
            if header.get("type") != "frame":  # a teacher's thumbnails
                return
            self.frames += 1
            self.ages.append(time.time() * 1000.0 - header["server_time"])

    def on_text(self, data: bytes) -> None:
        message = orjson.loads(data)
        self.messages.append(message)
        for kind, future in list(self.waiters):
            if message.get("type") == kind and not future.done():
                future.set_result(message)
                self.waiters.remove((kind, future))

    async def wait_for(self, kind: str, timeout: float = 30.0) -> dict:
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((kind, future))
        return await asyncio.wait_for(future, timeout)

    def send(self, message) -> None:
        super().send(message if isinstance(message, str) else json.dumps(message))


class Window:
    """The measuring window shared by every peer of a scenario."""

    def __init__(self):
        self.open = False

    async def measure(self, peers: list[Peer], seconds: float) -> float:
        for peer in peers:
            peer.frames, peer.ages = 0, []
        self.open = True
        started = time.monotonic()
        await asyncio.sleep(seconds)
        self.open = False
        return time.monotonic() - started


async def connect(port: int, code: str, window: Window) -> Peer:
    url = f"ws://127.0.0.1:{port}/ws/room/{code}"
    _, peer = await asyncio.get_running_loop().create_connection(lambda: Peer(url, window), "127.0.0.1", port)
    await asyncio.wait_for(peer.opened, 30)
    return peer


async def join_teacher(port: int, room: dict, window: Window, lesson: dict) -> Peer:
    teacher = await connect(port, room["code"], window)
    joined = teacher.wait_for("joined")
    teacher.send({"type": "join", "role": "teacher", "token": room["teacher_token"]})
    await joined
    state = teacher.wait_for("state")
    teacher.send({"type": "configure", "config": lesson})
    await state
    teacher.send({"type": "speed", "steps_per_frame": 5, "fps": 30})
    teacher.send({"type": "play"})
    return teacher


async def join_students(ports: list[int], room: dict, window: Window, count: int) -> list[Peer]:
    students: list[Peer] = []

    async def one(i: int) -> None:
        peer = await connect(ports[i % len(ports)], room["code"], window)
        joined = peer.wait_for("joined")
        peer.send({"type": "join", "role": "student", "name": f"student {i}"})
        await joined
        students.append(peer)

    for start in range(0, count, 50):  # 50 handshakes at a time
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))
    return students


def rates(peers: list[Peer], seconds: float) -> tuple[float, float, float]:
    """(median frames/s per peer, min frames/s, p95 frame age in ms)."""
    fps = [peer.frames / seconds for peer in peers]
    ages = [a for peer in peers for a in peer.ages]
    return statistics.median(fps), min(fps), p95(ages)


def make_room(port: int) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/rooms", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def start_server(port: int, db: Path, room_size: int, env: dict | None = None, redis: str | None = None,
                 workers: int = 0) -> subprocess.Popen:
    """The server with its database `db` (its log beside it) and these room options."""
    args = ["--db", str(db), "--room-size", str(room_size)]
    if workers:
        args += ["--workers", str(workers)]
    if redis:
        args += ["--redis", redis]
    return live_server.start_server(port, db.with_suffix(".log"), *args, env=env)


def stop(process: subprocess.Popen) -> None:
    live_server.stop_process(process, grace=15)


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of a server process and its workers (Linux /proc)."""
    def own(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return own(pid) + sum(own(int(c)) for c in children)
    except OSError:
        return float("nan")


def _server_cpu(results: dict) -> float:
    """CPU seconds so far of the scenario's server processes (results["pids"]) and their workers."""
    return sum(server_cpu(pid) for pid in results.get("pids", ()))


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
        return json.loads(reply.read())


# ---------------------------------------------------------------------- scenarios
async def follow_scenario(ports: list[int], count: int, seconds: float, lesson: dict, results: dict) -> None:
    """Teacher alone, then `count` followers (spread over `ports`): fills results."""
    window = Window()
    room = make_room(ports[0])
    teacher = await join_teacher(ports[0], room, window, lesson)
    await asyncio.sleep(2.0)
    elapsed = await window.measure([teacher], seconds)
    results["teacher_alone"] = teacher.frames / elapsed
    students = await join_students(ports, room, window, count)
    await asyncio.sleep(2.0 + count / 250)
    cpu, served = time.process_time(), _server_cpu(results)
    elapsed = await window.measure([teacher, *students], seconds)
    results["bench_cpu"] = (time.process_time() - cpu) / elapsed
    results["server_cpu"] = (_server_cpu(results) - served) / elapsed
    results["follow"] = rates(students, elapsed)
    results["teacher_follow"] = teacher.frames / elapsed
    results["students"] = students
    results["teacher"] = teacher
    results["window"] = window
    results["room"] = room


async def own_scenario(port: int, count: int, seconds: float, lesson: dict, results: dict,
                       started: dict | None = None) -> None:
    """`count` students in own mode on the teacher's pushed lesson, each playing its own run.
    Reuses the follow scenario's room (`started`) when given, else makes one."""
    if started is not None:
        window, room, teacher = started["window"], started["room"], started["teacher"]
        students = started["students"]
        for peer in students[count:]:
            peer.close()
        students = students[:count]
        await asyncio.sleep(1.0)
    else:
        window = Window()
        room = make_room(port)
        teacher = await join_teacher(port, room, window, lesson)
        await asyncio.sleep(2.0)
        elapsed = await window.measure([teacher], seconds)
        results["teacher_alone"] = teacher.frames / elapsed
        students = await join_students([port], room, window, count)
    states = [peer.wait_for("state", 60) for peer in students]
    teacher.send({"type": "mode", "mode": "own"})
    teacher.send({"type": "push"})
    await asyncio.gather(*states)
    for peer in students:
        peer.send({"type": "play"})
    await asyncio.sleep(3.0)
    cpu, served = time.process_time(), _server_cpu(results)
    elapsed = await window.measure([teacher, *students], seconds)
    results["own_bench_cpu"] = (time.process_time() - cpu) / elapsed
    results["own_server_cpu"] = (_server_cpu(results) - served) / elapsed
    results["own"] = rates(students, elapsed)
    results["teacher_own"] = teacher.frames / elapsed
    results["workers"] = health(port)["workers"]
    for peer in [teacher, *students]:
        peer.close()
    await asyncio.sleep(0.5)


def report_follow(label: str, r: dict, count: int) -> None:
    median, low, age = r["follow"]
    share = r["teacher_follow"] / r["teacher_alone"] if r["teacher_alone"] else float("nan")
    print(f"{label}: 1 teacher -> {count} following students: median {median:.1f} frames/s per student "
          f"({goal(median >= GOALS['follow_fps'])}: >= {GOALS['follow_fps']:.0f}), min {low:.1f}; "
          f"p95 frame age {age:.0f} ms ({goal(age < GOALS['follow_p95_ms'])}: < {GOALS['follow_p95_ms']:.0f} ms)")
    print(f"{label}: teacher {r['teacher_alone']:.1f} frames/s alone, {r['teacher_follow']:.1f} with the class "
          f"following = {share:.0%} ({goal(share >= GOALS['teacher_share'])}: >= {GOALS['teacher_share']:.0%}); "
          f"server used {r.get('server_cpu', float('nan')):.2f} cores, bench clients {r['bench_cpu']:.2f}")


def report_own(label: str, r: dict, count: int) -> None:
    median, low, age = r["own"]
    share = r["teacher_own"] / r["teacher_alone"] if r["teacher_alone"] else float("nan")
    batched = [w.get("batched") for w in r["workers"]]
    print(f"{label}: {count} students in own mode on one lesson: median {median:.1f} frames/s per student "
          f"({goal(median >= GOALS['own_fps'])}: >= {GOALS['own_fps']:.0f}), min {low:.1f}; p95 frame age {age:.0f} ms; "
          f"sessions per worker {[w['sessions'] for w in r['workers']]}, batched {batched}")
    print(f"{label}: teacher {r['teacher_alone']:.1f} frames/s alone, {r['teacher_own']:.1f} with the class in own "
          f"mode = {share:.0%} ({goal(share >= GOALS['teacher_share'])}: >= {GOALS['teacher_share']:.0%}); "
          f"server used {r.get('own_server_cpu', float('nan')):.2f} cores, bench clients {r['own_bench_cpu']:.2f}")


def redis_available() -> str | None:
    """None if the Redis scenario can run, else why not."""
    if shutil.which("redis-server") is None:
        return "no redis-server binary"
    helped = subprocess.run([sys.executable, "-m", "server", "--help"], cwd=ROOT, capture_output=True, text=True)
    if "--redis" not in helped.stdout:
        return "--redis not available"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per scenario")
    parser.add_argument("--followers", type=int, default=500, help="following students")
    parser.add_argument("--own", type=int, default=100, help="students in own mode")
    parser.add_argument("--lesson", default="momentum-rmsprop-adam", help="the lesson (server/presets.py id)")
    parser.add_argument("--no-compare", action="store_true", help="skip the own-mode run without batching")
    parser.add_argument("--no-redis", action="store_true", help="skip the two-process Redis run")
    args = parser.parse_args()
    from server.presets import PRESETS
    lesson = next(p["config"] for p in PRESETS if p["id"] == args.lesson)
    size = max(args.followers, args.own) + 10
    print(f"load average before: {_load()} (others' work on these cores lowers every figure)")
    print(f"machine: {os.cpu_count()} cores; lesson {args.lesson!r} "
          f"(network {lesson['network']['hidden']} {lesson['network']['activation']}, batch {lesson['batch_size']}); "
          f"{args.seconds:g} s measured per figure; frames at steps_per_frame 5, 30 fps asked")

    with tempfile.TemporaryDirectory() as tmp:
        # 1-3 on one server (batching on)
        port = free_port()
        server = start_server(port, Path(tmp) / "a.sqlite3", size)
        results: dict = {}
        try:
            results["pids"] = [server.pid]
            run_loop(_one_server(port, args, lesson, results))
        finally:
            stop(server)
        report_follow("one server", results, args.followers)
        report_own("one server, batched", results, args.own)

        if not args.no_compare:
            port = free_port()
            server = start_server(port, Path(tmp) / "b.sqlite3", size, env={"NN_PLAYGROUND_BATCHING": "0"})
            plain: dict = {"pids": [server.pid]}
            try:
                run_loop(own_scenario(port, args.own, args.seconds, lesson, plain))
            finally:
                stop(server)
            report_own("one server, NOT batched (separate sessions)", plain, args.own)
            print(f"batched / separate: {results['own'][0] / max(plain['own'][0], 1e-9):.1f}x frames/s per student")

        why = "skipped by --no-redis" if args.no_redis else redis_available()
        if why is not None:
            print(f"two server processes on Redis: skipped: {why}")
        else:
            _redis_run(args, lesson, size, Path(tmp))
    print(f"load average after: {_load()}")


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"
    except OSError:
        return "unknown"


async def _one_server(port: int, args, lesson: dict, results: dict) -> None:
    await follow_scenario([port], args.followers, args.seconds, lesson, results)
    await own_scenario(port, args.own, args.seconds, lesson, results, started=results)


def _redis_run(args, lesson: dict, size: int, tmp: Path) -> None:
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"redis://127.0.0.1:{redis_port}/0"
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):  # one worker each: two processes on two cores
            servers.append(start_server(port, tmp / f"r{i}.sqlite3", size, redis=url, workers=1))
        results: dict = {"pids": [server.pid for server in servers]}

        async def run() -> None:
            await follow_scenario(ports, args.followers, args.seconds, lesson, results)
            for peer in [results["teacher"], *results["students"]]:
                peer.close()
            await asyncio.sleep(0.5)

        run_loop(run())
        report_follow("two server processes on Redis (students split over both, one worker each)",
                      results, args.followers)
    finally:
        for server in servers:
            stop(server)
        redis.terminate()
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
