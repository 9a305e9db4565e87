"""Soak benchmark (issue 12, "Hardening"): N honest students train on the real server for T
minutes while K hostile clients attack it. Prints every interval: frames/s per honest client
(median, p10), the server's RSS (main + training workers, /proc VmRSS read every 5 s, the mean
over the interval: a worker's RSS rises and falls by ±8 % as sessions come and go and their freed
memory is handed back, server/memory_trim.py), its sessions (/healthz)
against the /ws sockets this benchmark holds open, tracebacks in its log, errors the honest clients
got, how the hostile clients were closed and this benchmark's own CPU; then a summary with "goal
met"/"goal missed" (50 clients, 30 min: RSS flat ±10 % once warm — from the end of the first
--warmup-minutes, while the class arrives and its sessions reach their size, to the end —, 0
tracebacks, honest median fps ≥ 90 % of a run without hostile clients, 0 leaked sessions). Never
fails on timing.

Two phases, each on a fresh server (`python -m server`, temp --db) so both start from the same
state: a baseline of the honest clients alone (same seed, same configs), then the soak with them.
Honest client (websockets' asyncio client, like a browser): a random small config (circle/xor/
spiral, hidden [4,2]..[8,8], 4 optimizers), play, `ready` for every frame; every 2-8 s a live
`set`, a reset, a save, or leaving and coming back 1-5 s later. fps = frames / seconds it played.
Hostile kinds, in turn: flood (gradcheck, predict_grid 200/199, set: 60/s on a 6x16 net, 2000
points), nonreader (`set` at 50/s, never reads), malformed (not JSON, nested, NaN, huge, binary,
run_id 2^63, > 128 KiB), churn (connect, maybe play, close or abort), slowloris (10 HTTP
requests whose headers never end). Each comes back 1 s after the server closes it.

    python bench/soak.py [--clients 50] [--minutes 30] [--hostile 5] [--kinds flood,churn,...]
        [--baseline-minutes 5] [--interval 30] [--workers 0] [--seed 1] [--log-dir DIR] [--root CHECKOUT]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import free_port, start_server, stop_process  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402

try:  # the clients share the server's cores: the cheaper loop, as the server's
    from uvloop import run as run_loop
except ImportError:
    run_loop = asyncio.run

READY, PLAY, RESET = '{"type":"ready"}', '{"type":"play"}', '{"type":"reset"}'
LEARNING_RATES = {"gd": (0.03, 0.3), "momentum": (0.01, 0.1), "rmsprop": (0.001, 0.01), "adam": (0.003, 0.03)}
HIDDEN = ([4, 2], [4, 4], [6, 4], [8, 4], [6, 6], [8, 8])
COSTLY = {"data": {"name": "spiral", "n": 2000, "noise": 0.1}, "network": {"hidden": [16] * 6, "activation": "tanh"},
          "optimizer": {"name": "adam"}, "epochs": 1_000_000}
FLOOD = ['{"type": "gradcheck"}', '{"type": "predict_grid", "resolution": 200}',
         '{"type": "set", "learning_rate": 0.003}', '{"type": "predict_grid", "resolution": 199}']
MALFORMED = ["not json", "[" * 5000 + "]" * 5000, '{"type": "set", "learning_rate": NaN}',
             '{"type": "set", "learning_rate": Infinity}', '"a string"', '{"type": "bogus"}', '{"type": "set"}',
             '{"type": "configure", "config": {"early_stopping": {"min_delta": Infinity}}}',
             '{"type": "configure", "run_id": 9223372036854775808, "config": {}}',
             '{"type": "configure", "config": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}",
             '{"type": "step", "n": 1e400}', b"\x00\x01binary", json.dumps({"type": "save", "name": "x" * 70_000}),
             json.dumps({"type": "save", "name": "x" * 140_000})]  # over 128 KiB: the socket is closed (1009)
KINDS = ("flood", "nonreader", "malformed", "churn", "slowloris")
CLOSED = (OSError, asyncio.TimeoutError, ConnectionClosed, InvalidHandshake)


def goal(ok: bool) -> str:
    return "goal met" if ok else "goal missed"


def student_config(rng: random.Random) -> dict:
    opt = rng.choice(tuple(LEARNING_RATES))
    return {"data": {"name": rng.choice(("circle", "xor", "spiral")), "n": rng.choice((200, 400)),
                     "noise": rng.choice((0.0, 0.1, 0.2)), "seed": rng.randrange(1000)},
            "network": {"hidden": rng.choice(HIDDEN), "activation": rng.choice(("tanh", "relu"))},
            "optimizer": {"name": opt, "learning_rate": rng.uniform(*LEARNING_RATES[opt])},
            "batch_size": rng.choice((16, 32, 64)), "epochs": 1_000_000}


class Phase:
    """One phase's server port, stop event and counters (read by the reporter)."""

    def __init__(self, port: int):
        self.port, self.url, self.stop = port, f"ws://127.0.0.1:{port}/ws", asyncio.Event()
        self.sockets, self.errors, self.closes, self.lifetimes = 0, Counter(), Counter(), []

    @contextlib.asynccontextmanager
    async def socket(self, **options):
        """A /ws connection, counted in `sockets` while open."""
        async with connect(self.url, ping_interval=None, max_size=None, compression=None, proxy=None,
                           open_timeout=15, close_timeout=2, **options) as ws:
            self.sockets += 1
            try:
                yield ws
            finally:
                self.sockets -= 1

    async def pause(self, seconds: float) -> bool:
        """Sleep, or less if the phase ends; True when it ended."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop.wait(), max(seconds, 0))
        return self.stop.is_set()


class Student:
    def __init__(self, index: int, seed: int, phase: Phase):
        self.rng, self.phase = random.Random(seed * 100_003 + index), phase
        self.connected, self.frames, self.active, self.since = False, 0, 0.0, None

    def take(self, now: float) -> float | None:
        """Frames/s over the seconds it played since the last call (None: under 1 s)."""
        active = self.active + (now - self.since if self.since else 0.0)
        frames, self.frames, self.active, self.since = self.frames, 0, 0.0, self.since and now
        return frames / active if active >= 1.0 else None

    def playing(self, on: bool) -> None:
        now = time.monotonic()
        self.active += now - self.since if self.since else 0.0
        self.since = now if on else None

    async def run(self, delay: float) -> None:
        while not await self.phase.pause(delay):
            try:
                async with self.phase.socket() as ws:
                    self.connected = True
                    await self.session(ws)
            except CLOSED as exc:
                self.phase.errors[f"connection: {type(exc).__name__} {exc}"[:100]] += 1
            finally:
                self.connected = False
                self.playing(False)
            delay = self.rng.uniform(1, 5)

    async def session(self, ws) -> None:
        config = student_config(self.rng)
        await ws.send(json.dumps({"type": "configure", "config": config}))
        await ws.send(PLAY)
        self.playing(True)
        reader = asyncio.create_task(self.read(ws))
        try:
            while not await self.phase.pause(self.rng.uniform(2, 8)):
                if reader.done():
                    self.phase.errors[f"closed by the server: {ws.close_code} {ws.close_reason}"] += 1
                    return
                action = self.rng.random()
                if action < 0.55:
                    rates = LEARNING_RATES[config["optimizer"]["name"]]
                    key, value = self.rng.choice((("learning_rate", self.rng.uniform(*rates)),
                                                  ("l2", self.rng.uniform(0, 0.01)), ("human_error", 0.05)))
                    await ws.send(json.dumps({"type": "set", key: value}))
                elif action < 0.7:
                    await ws.send(RESET)
                    await ws.send(PLAY)
                elif action < 0.85:
                    await ws.send(json.dumps({"type": "save", "name": f"soak {self.rng.randrange(10**6)}"}))
                else:
                    return  # leave; run() comes back after a pause
        finally:
            reader.cancel()

    async def read(self, ws) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if isinstance(message, bytes):
                    self.frames += 1
                    await ws.send(READY)
                    continue
                reply = json.loads(message)
                if reply["type"] == "error":
                    self.phase.errors[reply.get("message", "?")[:100]] += 1
                elif reply["type"] == "diverged":  # a student presses reset
                    await ws.send(RESET)
                    await ws.send(PLAY)


async def drain(ws) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            if isinstance(message, bytes):
                await ws.send(READY)


async def send_at(phase: Phase, config: dict, texts, rate: float, read: bool = True) -> str | None:
    """Configure, play, then send `texts` at `rate` per second; reading every reply (and answering
    frames) or never reading (max_queue=1: websockets stops reading the socket after one message)."""
    start = time.monotonic()
    async with phase.socket(max_queue=16 if read else 1) as ws:
        reader = asyncio.create_task(drain(ws)) if read else None
        await ws.send(json.dumps({"type": "configure", "config": config}))
        await ws.send(PLAY)
        for i, text in enumerate(texts, 1):
            if reader and reader.done():
                return str(ws.close_code)
            await ws.send(text)
            if await phase.pause(start + i / rate - time.monotonic()):
                return None
            if not read and time.monotonic() - start > 60:
                return "still open after 60 s (the bench closed it)"


async def flood(phase: Phase, rng: random.Random) -> str | None:
    return await send_at(phase, COSTLY, itertools.cycle(FLOOD), 60)


async def nonreader(phase: Phase, rng: random.Random) -> str | None:
    start = time.monotonic()
    try:
        return await send_at(phase, COSTLY, (json.dumps({"type": "set", "learning_rate": rng.uniform(0.001, 0.01)})
                                             for _ in itertools.count()), 50, read=False)
    except CLOSED:
        phase.lifetimes.append(time.monotonic() - start)
        raise


async def malformed(phase: Phase, rng: random.Random) -> str | None:
    return await send_at(phase, student_config(rng), (rng.choice(MALFORMED) for _ in itertools.count()), 10)


async def churn(phase: Phase, rng: random.Random) -> str | None:
    for i in itertools.count():
        async with phase.socket() as ws:
            if i % 3:
                await ws.send(json.dumps({"type": "configure", "config": student_config(rng)}))
                await ws.send(PLAY)
            await asyncio.sleep(rng.uniform(0, 0.3))
            if i % 3 == 2:
                ws.transport.abort()  # no close frame: the TCP connection just goes
        phase.closes["churn: connect/close cycles"] += 1
        if await phase.pause(0.2):
            return None


async def slowloris(phase: Phase, rng: random.Random) -> str | None:
    async def one() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", phase.port)
        start, answer = time.monotonic(), asyncio.ensure_future(reader.read(1024))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            while not await phase.pause(5):
                if answer.done():
                    return f"closed by the server after {time.monotonic() - start:.0f} s"
                writer.write(b"X-Slow: 1\r\n")
            return f"open until the phase ended ({time.monotonic() - start:.0f} s)"
        finally:
            answer.cancel()
            writer.close()
    outcomes = await asyncio.gather(*(one() for _ in range(10)), return_exceptions=True)
    phase.closes.update(f"slowloris: {how if isinstance(how, str) else type(how).__name__}" for how in outcomes)
    return None


async def hostile(kind: str, index: int, seed: int, phase: Phase) -> None:
    rng, attack = random.Random(seed * 7919 + index), globals()[kind]
    while not phase.stop.is_set():
        try:
            how = await attack(phase, rng)
        except ConnectionClosed as exc:
            how = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else "no close frame"
        except CLOSED as exc:
            how = type(exc).__name__
        if how is not None:
            phase.closes[f"{kind}: {how}"[:100]] += 1
        await phase.pause(1.0)


def server_rss_mib(pid: int) -> tuple[float, float]:
    """VmRSS of the server's main process, and summed over its children (the training workers)."""
    def rss(p: int) -> float:
        with contextlib.suppress(OSError):
            line = next(x for x in Path(f"/proc/{p}/status").read_text().splitlines() if x.startswith("VmRSS:"))
            return int(line.split()[1]) / 1024
        return 0.0
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return rss(pid), sum(rss(c) for c in children)


def healthz(port: int) -> tuple[int, int | None] | None:
    """(sessions of the main process, sessions the workers hold or None), None if no answer."""
    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=15) as reply:
            health = json.load(reply)
        held = [w["sessions"] for w in health["workers"]]
        return health["connections"], (None if None in held else sum(held))
    return None


def log_problems(log: Path) -> tuple[int, Counter]:
    """Lines starting with "Traceback" or saying "exception was never retrieved", and each
    traceback's exception (its first unindented line)."""
    count, exceptions, inside = 0, Counter(), False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Traceback") or "exception was never retrieved" in line:
            count, inside = count + 1, line.startswith("Traceback")
        elif inside and line and not line.startswith(" "):
            exceptions[line[:160]] += 1
            inside = False
    return count, exceptions


def print_counts(label: str, counts: Counter) -> None:
    if counts:
        print(f"    {label}: " + "; ".join(f"{text} ×{n}" for text, n in counts.most_common(8)))


RSS_EVERY = 5.0  # seconds between RSS readings (each printed figure is their mean over the interval)


async def sample_rss(pid: int, readings: list, stop: asyncio.Event) -> None:
    while not stop.is_set():
        readings.append(server_rss_mib(pid))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_EVERY)


async def run_phase(name: str, args, hostiles: int, minutes: float, log: Path, db: Path) -> dict:
    port = free_port()
    server = start_server(port, log, "--db", str(db), *(["--workers", str(args.workers)] if args.workers else []),
                          root=args.root)
    try:
        phase, kinds = Phase(port), [args.kinds[i % len(args.kinds)] for i in range(hostiles)]
        students = [Student(i, args.seed, phase) for i in range(args.clients)]
        stagger = min(5.0, args.interval / 2) / max(args.clients, 1)  # a class arriving, not one burst
        tasks = [asyncio.create_task(s.run(i * stagger)) for i, s in enumerate(students)]
        tasks += [asyncio.create_task(hostile(kind, i, args.seed, phase)) for i, kind in enumerate(kinds)]
        print(f"\n{name}: {args.clients} honest clients, {hostiles} hostile ({', '.join(kinds) or 'none'}), "
              f"{minutes:g} min, server pid {server.pid}")
        print(f"{'time s':>7} {'honest':>7} {'fps med':>8} {'p10':>6} {'RSS MiB = main + workers':>26} "
              f"{'sessions':>9} {'sockets':>8} {'tracebacks':>11} {'errors':>7} {'bench CPU':>10}")
        readings: list[tuple[float, float]] = []
        sampler = asyncio.create_task(sample_rss(server.pid, readings, phase.stop))
        start = last = time.monotonic()
        cpu = time.process_time()  # this benchmark's own CPU (its clients share the server's cores)
        end, samples, rss, shown_errors, shown_closes = start + 60 * minutes, [], [], Counter(), Counter()
        for tick in itertools.count(1):  # a fixed cadence: a slow /healthz does not shift the lines
            if (now := time.monotonic()) >= end - 0.5:
                break
            target = start + tick * args.interval
            await asyncio.sleep((end if end - target < args.interval / 2 else target) - now)  # no stub line at the end
            now = time.monotonic()
            cpu_share, cpu, last = (time.process_time() - cpu) / (now - last), time.process_time(), now
            fps = sorted(f for f in (s.take(now) for s in students) if f is not None)
            samples += fps
            taken, readings[:] = readings[:] or [server_rss_mib(server.pid)], []
            main, workers = (statistics.fmean(r[i] for r in taken) for i in (0, 1))
            rss.append((now - start, main + workers))
            health = await asyncio.to_thread(healthz, port)
            errors, closes = phase.errors - shown_errors, phase.closes - shown_closes
            shown_errors, shown_closes = phase.errors.copy(), phase.closes.copy()
            print(f"{now - start:>7.0f} {sum(s.connected for s in students):>7} "
                  f"{statistics.median(fps) if fps else float('nan'):>8.1f} "
                  f"{fps[len(fps) // 10] if fps else float('nan'):>6.1f} {main + workers:>12.0f} = {main:>5.0f} + "
                  f"{workers:<6.0f} {health[0] if health else '?':>9} {phase.sockets:>8} "
                  f"{log_problems(log)[0]:>11} {sum(errors.values()):>7} {cpu_share:>10.0%}", flush=True)
            print_counts("honest clients' errors", errors)
            print_counts("hostile clients closed", closes)
        phase.stop.set()
        await asyncio.wait(tasks + [sampler], timeout=20)
        for _ in range(20):  # every client has gone: the server should hold no session within seconds
            if (health := await asyncio.to_thread(healthz, port)) == (0, 0):
                break
            await asyncio.sleep(0.5)
        lifetimes = sorted(phase.lifetimes)
        return {"fps": statistics.median(samples) if samples else float("nan"), "rss": rss, "leaked": health,
                "log": log_problems(log), "errors": phase.errors, "closes": phase.closes,
                "nonreader": lifetimes[len(lifetimes) // 2] if lifetimes else None}
    finally:
        stop_process(server)


def summary(baseline: dict | None, soak: dict, warmup: float) -> None:
    print("\nSummary (goals of issue 12):")
    if baseline:
        ratio = soak["fps"] / baseline["fps"]
        print(f"- median fps per honest client: baseline {baseline['fps']:.1f}, soak {soak['fps']:.1f}; "
              f"ratio {ratio:.2f} (≥ 0.90) → {goal(ratio >= 0.9)}")
    else:
        print(f"- median fps per honest client: soak {soak['fps']:.1f} (no baseline: no ratio)")
    warm = [mib for at, mib in soak["rss"] if at > 60 * warmup] or [mib for _, mib in soak["rss"]][-1:]
    if warm:
        first, last, top, low = warm[0], warm[-1], max(warm), min(warm)
        print(f"- server RSS (soak, mean over each interval, from the end of the {warmup:g}-min warm-up): first "
              f"{first:.0f} MiB, last {last:.0f} MiB ({last / first - 1:+.1%}), max {top:.0f} MiB ({top / first - 1:+.1%}), "
              f"min {low:.0f} MiB ({low / first - 1:+.1%}) (±10 %) → "
              f"{goal(abs(last / first - 1) <= 0.1 and 0.9 * first <= low and top <= 1.1 * first)}")
        middle = warm[len(warm) // 2]  # a leak goes on growing here
        print(f"  second half: {middle:.0f} → {last:.0f} MiB ({last / middle - 1:+.1%}); during the warm-up: "
              f"{soak['rss'][0][1]:.0f} MiB at {soak['rss'][0][0]:.0f} s")
    for name, result in (("baseline", baseline), ("soak", soak)):
        if result is None:
            continue
        (tracebacks, exceptions), leaked = result["log"], result["leaked"]
        print(f"- server tracebacks ({name}): {tracebacks} (0) → {goal(tracebacks == 0)}")
        print_counts("exceptions", exceptions)
        print(f"- leaked sessions at the end ({name}): " + (f"{leaked[0]}, workers hold {leaked[1]} (0) → "
              f"{goal(leaked == (0, 0))}" if leaked else "? (/healthz did not answer) → goal missed"))
        print(f"- errors received by honest clients ({name}): {sum(result['errors'].values())}")
        print_counts("by message", result["errors"])
        print_counts("hostile clients closed", result["closes"])
    if soak["nonreader"] is not None:
        print(f"- the non-reading client was closed after {soak['nonreader']:.0f} s (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="honest clients")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the soak (with the hostile clients)")
    parser.add_argument("--hostile", type=int, default=len(KINDS), help="hostile clients, of the --kinds in turn")
    parser.add_argument("--kinds", type=lambda v: v.split(","), default=list(KINDS), help=f"default {','.join(KINDS)}")
    parser.add_argument("--baseline-minutes", type=float, default=5.0, help="run without hostile clients first (0: none)")
    parser.add_argument("--warmup-minutes", type=float, default=2.0,
                        help="RSS is held to ±10 %% from the end of this (the class arriving, sessions growing)")
    parser.add_argument("--interval", type=float, help="seconds between lines (default 30; a tenth of a short run)")
    parser.add_argument("--workers", type=int, default=0, help="server training processes (0 = one per core)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="run the server of another checkout (e.g. a git worktree of an older revision)")
    parser.add_argument("--log-dir", type=Path, help="keep the server logs there (default: a temp dir, removed)")
    args = parser.parse_args()
    if set(args.kinds) - set(KINDS):
        parser.error(f"--kinds: choose among {', '.join(KINDS)}")
    args.interval = args.interval or (30.0 if args.minutes >= 5 else max(2.0, args.minutes * 6))
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    logs = args.log_dir or tmp
    logs.mkdir(parents=True, exist_ok=True)
    try:
        baseline = run_loop(run_phase("baseline", args, 0, args.baseline_minutes, logs / "baseline.log",
                                      tmp / "baseline.sqlite3")) if args.baseline_minutes > 0 else None
        soak = run_loop(run_phase("soak", args, args.hostile, args.minutes, logs / "soak.log", tmp / "soak.sqlite3"))
    except KeyboardInterrupt:
        print("\ninterrupted: the server was stopped")
        raise SystemExit(130)
    finally:
        if args.log_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    summary(baseline, soak, args.warmup_minutes)
    if args.log_dir:
        print(f"server logs: {logs}")


if __name__ == "__main__":
    main()
