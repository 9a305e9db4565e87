"""Issue #12, point 6: the optimizer lab must not starve the playground. Eight lab sockets racing at
the lab's top speed (6 optimizers × 1000 steps per frame × 60 fps on the mini-batch logistic
surface: each asks for ~18 cores) beside a playground client, a save and an upload; and the cap
on concurrent lab sockets (docs/limits.md "Optimizer lab").

Before the lab had its own executor, races computed in the default thread pool that saves and
uploads share: with 8 such races a save took 5-7 s, an upload 4-7 s, and the playground fell from
30 to 14-18 frames/s."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.limits import MAX_LAB_SOCKETS
from tests.reliability.conftest import Client, tracebacks

RACES = 8
SAVE_BOUND = UPLOAD_BOUND = 1.5   # seconds (measured: ~0.05 s alone, 5-7 s with 8 races before the fix)
FPS_SHARE = 0.6                   # of the playground's frames/s alone (measured ~0.9-1.0 with 8 races)
MAX_SPEED = {"type": "speed", "steps_per_frame": 1000, "fps": 60}
HEAVY = {"type": "configure", "surface": {"name": "logistic", "batch_size": 8}, "tolerance": 1e-12,
         "max_steps": 20000, "optimizers": [
             {"id": f"o{i}", "name": name, "learning_rate": 0.001}
             for i, name in enumerate(["gd", "momentum", "nesterov", "rmsprop", "adam", "gd"])]}
RECORD = {"name": "under load", "config": {}, "history": {"columns": ["iteration"], "rows": [[0]]}}
CSV = "x1,x2,label\n" + "\n".join(f"{i / 100:.2f},{-i / 100:.2f},{i % 2}" for i in range(2000))


def lab_url(server) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/lab"


class Racer(threading.Thread):
    """A lab socket racing at top speed: reads everything, plays again (after a reset) whenever
    the race is done, until `stop` is set."""

    def __init__(self, server, stop: threading.Event):
        super().__init__(daemon=True)
        self.client, self.stop, self.frames = Client(lab_url(server)), stop, 0
        self.client.recv()  # the idle state
        for message in (MAX_SPEED, HEAVY, {"type": "play"}):
            self.client.send(message)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                message = self.client.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the socket was closed by the test
                return
            if message["type"] == "frame":
                self.frames += 1
            elif message["type"] == "state" and message["status"] == "done":
                self.client.send({"type": "reset"})
                self.client.send({"type": "play"})


def playground_fps(server, seconds: float) -> float:
    """Frames per second a playground client gets while playing (it acknowledges each frame)."""
    with Client(server.ws_url) as client:
        client.configure()
        client.send({"type": "play"})
        client.until("frame")
        started, frames = time.monotonic(), 0
        while time.monotonic() - started < seconds:
            client.until("frame")
            frames += 1
        return frames / (time.monotonic() - started)


def timed(request) -> float:
    started = time.monotonic()
    reply = request()
    assert reply.status_code in (200, 201), reply.text
    return time.monotonic() - started


def save_seconds(server) -> float:
    return timed(lambda: httpx.post(server.http + "/api/runs", json=RECORD, timeout=30))


def upload_seconds(server) -> float:
    return timed(lambda: httpx.post(server.http + "/api/csv", content=CSV, timeout=30))


def under_load(server, seconds: float = 4.0) -> dict:
    """The playground's frames/s alone, then with RACES lab races at top speed, and the slowest of
    three saves and three uploads during the races."""
    alone = playground_fps(server, seconds)
    stop = threading.Event()
    racers = [Racer(server, stop) for _ in range(RACES)]
    try:
        for racer in racers:
            racer.start()
        time.sleep(1.0)  # the races are running
        loaded = playground_fps(server, seconds)
        saves = [save_seconds(server) for _ in range(3)]
        uploads = [upload_seconds(server) for _ in range(3)]
        lab_frames = [r.frames for r in racers]
    finally:
        stop.set()
        for racer in racers:
            racer.client.close()
            racer.join(timeout=5)
    return {"alone": alone, "loaded": loaded, "save": max(saves), "upload": max(uploads), "lab_frames": lab_frames}


def test_lab_races_at_top_speed_leave_the_playground_its_frames_saves_and_uploads(server):
    figures = under_load(server)
    print(figures)
    assert figures["save"] < SAVE_BOUND, figures
    assert figures["upload"] < UPLOAD_BOUND, figures
    assert figures["loaded"] >= FPS_SHARE * figures["alone"], figures
    assert min(figures["lab_frames"]) > 0, figures  # every race is served (round-robin), none starved
    assert tracebacks(server) == []


def test_the_lab_socket_cap_refuses_one_more_and_a_closed_socket_frees_its_slot(server):
    clients = []
    try:
        for _ in range(MAX_LAB_SOCKETS):
            clients.append(Client(lab_url(server)))
            assert clients[-1].recv()["type"] == "state"
        extra = Client(lab_url(server))
        error = extra.recv()
        assert error["type"] == "error" and str(MAX_LAB_SOCKETS) in error["message"], error
        with pytest.raises(ConnectionClosed):
            extra.recv(timeout=5)
        assert extra.ws.close_code == 1013
        clients.pop().close()  # its slot is free once the server has seen the close (measured: the first try)
        tries, deadline = 0, time.monotonic() + 1.0
        while True:
            tries += 1
            again = Client(lab_url(server))
            first = again.recv()
            if first["type"] == "state" or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.01)
        clients.append(again)
        assert first["type"] == "state", (tries, first)
    finally:
        for client in clients:
            client.close()
    assert tracebacks(server) == []
