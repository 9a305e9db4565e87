"""Websocket streaming benchmark: starts the real server (`python -m server`, uvicorn) on a free
loopback port and prints, in one run:

1. the engine's bare training speed (Trainer.step in this process, no server);
2. one client: frames/s received and training iterations/s achieved while streaming;
3. N = 1, 10, 50, 100 concurrent clients, each training its own session: median frames/s per
   client and p95 frame age (client receipt time - the frame's server_time), plus the server's
   CPU time (main process + workers, training included) per frame delivered, split into the
   relaying main process and the training workers, and this benchmark's own CPU per frame (the
   simulated browsers share the cores): with a fixed steps_per_frame it shows the capacity,
   frames/s ≈ cores × 1000 / (ms per frame, server + clients), whatever else the machine runs.

Every client answers each frame with `ready`, like the browser; the clients are lean sans-I/O
websocket clients (LeanSocket), since they share the server's cores. Prints the goals and whether
they were met; never fails on timing. Bounded run time (about a minute).

    python bench/ws_bench.py [--seconds 4] [--clients 1,10,50,100] [--speeds max,5] [--fps 30]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.frames import frame_header  # noqa: E402
from tests.live_server import free_port, start_server, stop_process  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.frames import Opcode  # noqa: E402
from websockets.http11 import Response  # noqa: E402
from websockets.protocol import State  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

try:  # the simulated browsers share the server's cores: run them on the cheaper loop, as the server
    from uvloop import run as run_loop
except ImportError:  # Windows
    run_loop = asyncio.run

CONFIG = {  # a playground-size network: 2-8-8-1 on 400 points
    "data": {"name": "spiral", "n": 400, "noise": 0.1},
    "network": {"hidden": [8, 8], "activation": "tanh"},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "batch_size": 32,
    "epochs": 1_000_000,
}
GOALS = {"one_fps": 30.0, "one_train_share": 0.5, "many_fps": 10.0, "many_p95_ms": 250.0}


def bare_steps_per_second(seconds: float) -> float:
    """Trainer.step(32) in a tight loop (the server runs chunks of ≤ 4 ms, a similar size)."""
    from engine.config import TrainConfig
    from engine.trainer import Trainer

    trainer = Trainer(TrainConfig.model_validate(CONFIG))
    trainer.step(50)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.step(32)
        steps += 32
    return steps / (time.perf_counter() - start)


class LeanSocket(asyncio.Protocol):
    """A websocket client on websockets' sans-I/O protocol, driven straight from asyncio's
    callbacks: no task, queue or future per message (the asyncio client's cost per frame was
    about as much as the server's relay), since these simulated browsers share the server's cores.
    `on_binary(data)` is called for every binary message, `on_text(data)` for every text one."""

    def __init__(self, url: str, on_binary=None):
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        if on_binary is not None:
            self.on_binary = on_binary
        self.transport = None
        self.opened = asyncio.get_running_loop().create_future()

    def on_binary(self, data: bytes) -> None:
        pass

    def on_text(self, data: bytes) -> None:
        pass

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self.opened.set_exception(self.ws.handshake_exc)
                else:
                    self.opened.set_result(None)
            elif event.opcode is Opcode.BINARY:
                self.on_binary(event.data)
            elif event.opcode is Opcode.TEXT:
                self.on_text(event.data)
        self._flush()

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def send(self, text: str) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_text(text.encode())
            self._flush()

    def close(self) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_close()
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)


async def client(url: str, speed, fps: int, warmup: float, seconds: float, results: list) -> None:
    ages, iterations = [], []
    counts = {"frames": 0, "warm": 0, "first": None, "last": None}
    begin = end = math.inf  # set once the session is configured

    def on_frame(message: bytes) -> None:
        received_ms = time.time() * 1000.0
        now = time.monotonic()
        if now >= end:
            return
        sock.send('{"type":"ready"}')
        if now < begin:
            counts["warm"] += 1
            return
        header = frame_header(message)
        ages.append(received_ms - header["server_time"])
        iterations.append(header["iteration"])
        counts["first"] = counts["first"] or now
        counts["last"] = now
        counts["frames"] += 1

    wsuri = parse_uri(url)
    _, sock = await asyncio.get_running_loop().create_connection(
        lambda: LeanSocket(url, on_frame), wsuri.host, wsuri.port)
    try:
        await asyncio.wait_for(sock.opened, 30)
        sock.send(json.dumps({"type": "configure", "config": CONFIG}))
        sock.send(json.dumps({"type": "speed", "steps_per_frame": speed, "fps": fps}))
        sock.send(json.dumps({"type": "play"}))
        begin = time.monotonic() + warmup
        end = begin + seconds
        await asyncio.sleep(end - time.monotonic())
    finally:
        sock.close()
    count, warm_frames, first_time, last_time = counts["frames"], counts["warm"], counts["first"], counts["last"]
    span = (last_time - first_time) if count > 1 else 0.0
    results.append({
        "fps": (count - 1) / span if span > 0 else 0.0,
        "ages": ages,
        "frames": count + warm_frames,
        "steps_per_s": (iterations[-1] - iterations[0]) / span if span > 0 else 0.0,
    })


async def run_clients(url: str, n: int, speed, fps: int, seconds: float) -> list[dict]:
    results: list[dict] = []
    warmup = 1.0 + n / 50.0  # connection set-up and first frames are not measured
    await asyncio.gather(*(client(url, speed, fps, warmup, seconds, results) for _ in range(n)))
    return results


def server_cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU time of the server's main process and of its workers (Linux /proc)."""
    def own(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return own(pid), sum(own(int(c)) for c in children)
    except OSError:
        return float("nan"), float("nan")


def client_cpu_seconds() -> float:
    """CPU time of this benchmark process (the simulated browsers share the machine's cores)."""
    return time.process_time()


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per scenario")
    parser.add_argument("--clients", default="1,10,50,100", help="comma-separated client counts")
    parser.add_argument("--speeds", default="max,5",
                        help='steps_per_frame of the N-client sessions, comma-separated: "max" or 1..1000 '
                             "(5 is the server's default); goals are judged on the first")
    parser.add_argument("--fps", type=int, default=30, help="frames per second each of the N clients asks for")
    parser.add_argument("--one-fps", type=int, default=60,
                        help="frames per second the single streaming client asks for (its capacity, not the cap)")
    parser.add_argument("--workers", type=int, default=0, help="server training processes (0 = one per core)")
    args = parser.parse_args()
    speeds = [v if v == "max" else int(v) for v in args.speeds.split(",")]
    counts = [int(c) for c in args.clients.split(",")]

    print(f"machine: {os.cpu_count()} cores; network 2-8-8-1 tanh, 400 points, batch 32, Adam; "
          f"N-client speeds {speeds}")
    bare = bare_steps_per_second(2.0)
    print(f"engine bare: {bare:,.0f} iterations/s (Trainer.step, one process)")

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(port, Path(tmp) / "server.log", "--db", str(Path(tmp) / "runs.sqlite3"),
                              *(["--workers", str(args.workers)] if args.workers else []))
        url = f"ws://127.0.0.1:{port}/ws"
        try:
            started = time.monotonic()
            one = run_loop(run_clients(url, 1, "max", args.one_fps, args.seconds))[0]
            share = one["steps_per_s"] / bare
            print(f"\n1 client streaming at speed max, {args.one_fps} fps requested: "
                  f"{one['fps']:.1f} frames/s, {one['steps_per_s']:,.0f} iterations/s "
                  f"= {share:.0%} of bare; frame age p95 {p95(one['ages']):.0f} ms")
            many = {}
            for speed in speeds:
                print(f"\nN clients at speed {speed}, {args.fps} fps requested:")
                print(f"{'clients':>8} {'median fps/client':>18} {'min fps':>8} {'p95 age ms':>11} "
                      f"{'median age ms':>14} {'iterations/s, all':>18} {'server CPU ms/frame':>20} "
                      f"{'(main + workers)':>17} {'bench clients CPU':>18}")
                for n in counts:
                    main_cpu, worker_cpu = server_cpu_seconds(server.pid)
                    client_cpu = client_cpu_seconds()
                    results = run_loop(run_clients(url, n, speed, args.fps, args.seconds))
                    client_cpu = client_cpu_seconds() - client_cpu
                    main_after, worker_after = server_cpu_seconds(server.pid)
                    main_cpu, worker_cpu = main_after - main_cpu, worker_after - worker_cpu
                    cpu = main_cpu + worker_cpu
                    frames = sum(r["frames"] for r in results)
                    fps = [r["fps"] for r in results]
                    ages = [a for r in results for a in r["ages"]]
                    many.setdefault(n, (statistics.median(fps), p95(ages)))  # goals: the first speed
                    print(f"{n:>8} {statistics.median(fps):>18.1f} {min(fps):>8.1f} {p95(ages):>11.0f} "
                          f"{statistics.median(ages) if ages else float('nan'):>14.0f} "
                          f"{sum(r['steps_per_s'] for r in results):>18,.0f} {1000 * cpu / max(frames, 1):>20.2f} "
                          f"{1000 * main_cpu / max(frames, 1):>8.2f} + {1000 * worker_cpu / max(frames, 1):<6.2f} "
                          f"{1000 * client_cpu / max(frames, 1):>18.2f}")
            print(f"(streaming scenarios took {time.monotonic() - started:.0f} s)")
        finally:
            stop_process(server)

    print("\nGoals on this machine:")
    print(f"- 1 client ≥ {GOALS['one_fps']:.0f} frames/s: {one['fps']:.1f} → {verdict(one['fps'] >= GOALS['one_fps'])}")
    print(f"- training while streaming ≥ {GOALS['one_train_share']:.0%} of bare: {share:.0%} → "
          f"{verdict(share >= GOALS['one_train_share'])}")
    top = max(counts)
    fps_top, age_top = many[top]
    print(f"- {top} clients each ≥ {GOALS['many_fps']:.0f} frames/s (median, speed {speeds[0]}): {fps_top:.1f} → "
          f"{verdict(fps_top >= GOALS['many_fps'])}")
    print(f"- {top} clients p95 frame age < {GOALS['many_p95_ms']:.0f} ms: {age_top:.0f} ms → "
          f"{verdict(age_top < GOALS['many_p95_ms'])}")


if __name__ == "__main__":
    main()
