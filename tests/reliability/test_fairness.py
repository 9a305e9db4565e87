"""Issue #12, point 2: one client flooding costly commands must not starve the other sessions of
its worker (server/command_queue.py: per-session queues and CPU budgets inside the round-robin).

The attack as reported: on the largest allowed network, `gradcheck` and `predict_grid` at the
allowed 60 messages/s. Before the fix a neighbour on the same worker fell from 30 frames/s to 0
for the whole attack and after it, a new client got no frame in 15 s, and the backlog ran on after
the attacker left. The server here has one worker, so every client shares it with the attacker."""
from __future__ import annotations

import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.reliability.conftest import Client, Server, running_server, tracebacks

MAX_CONFIG = {"network": {"hidden": [16, 16, 16, 16, 16, 16]}, "data": {"n": 2000}}
ALONE_SECONDS, ATTACK_SECONDS = 3.0, 4.0
# Shares with a wide margin for a loaded 2-core CI machine: measured on such a machine, the
# neighbour kept ~75-90 % of its frames under attack (0 % before the fix).
SHARE = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    """A server with ONE training worker: the attacker and its neighbours share it."""
    with running_server(tmp_path_factory.mktemp("fairness"), workers=1) as srv:
        yield srv


def frame_rate(client: Client, seconds: float) -> float:
    """Frames per second a playing client receives (answering each with `ready`) over `seconds`."""
    deadline, frames = time.monotonic() + seconds, 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return frames / seconds
        try:
            message = client.recv(timeout=left)
        except TimeoutError:
            continue
        if isinstance(message, tuple):
            frames += 1
            client.send({"type": "ready"})


class Attacker:
    """A client on the largest network sending gradcheck and predict_grid (200 and 190, every
    message a resolution change) in turns at 60 messages/s, and reading its replies in a thread."""

    def __init__(self, server: Server):
        self.client = server.client()
        self.client.configure(**MAX_CONFIG)
        self.replies: dict[str, int] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _send(self) -> None:
        started, sent = time.monotonic(), 0
        while not self.stop.is_set():
            message = {"type": "gradcheck"} if sent % 2 == 0 else {"type": "predict_grid",
                                                                    "resolution": 200 - 10 * (sent // 2 % 2)}
            try:
                self.client.send(message)
            except ConnectionClosed:
                return
            sent += 1
            time.sleep(max(0.0, started + sent / 60 - time.monotonic()))

    def _read(self) -> None:
        while True:
            try:
                message = self.client.recv(timeout=30)
            except (ConnectionClosed, TimeoutError):
                return
            kind = "frame" if isinstance(message, tuple) else message["type"]
            self.replies[kind] = self.replies.get(kind, 0) + 1
            if kind == "error":
                self.errors.append(message["message"])

    def leave(self) -> None:
        self.stop.set()
        self.threads[0].join(timeout=5)
        self.client.close()
        self.threads[1].join(timeout=5)


def worker_sessions(server: Server) -> int | None:
    return server.health()["workers"][0]["sessions"]


def test_a_flood_of_costly_commands_leaves_the_neighbours_their_frames(server):
    with server.client() as neighbour:
        neighbour.configure()
        neighbour.send({"type": "play"})
        frame_rate(neighbour, 0.5)  # warm up
        alone = frame_rate(neighbour, ALONE_SECONDS)
        assert alone > 10, alone

        attacker = Attacker(server)
        try:
            frame_rate(neighbour, 1.0)  # the attacker's first burst
            attacked = frame_rate(neighbour, ATTACK_SECONDS)

            # a new client during the attack gets its first frame within seconds
            started = time.monotonic()
            with server.client() as newcomer:
                newcomer.send({"type": "configure", "config": {"epochs": 100000}})
                try:
                    newcomer.until("frame", timeout=10)
                    first_frame = time.monotonic() - started
                except TimeoutError:
                    first_frame = float("inf")
        finally:
            attacker.leave()

        # its session is gone at once: no backlog runs on for a client that left
        left = time.monotonic()
        while worker_sessions(server) != 1 and time.monotonic() - left < 5:
            time.sleep(0.05)
        gone = time.monotonic() - left
        after = frame_rate(neighbour, 1.5)

    print(f"neighbour frames/s alone {alone:.1f}, under attack {attacked:.1f}, after {after:.1f}; newcomer's "
          f"first frame {first_frame:.2f} s; attacker's session gone after {gone:.2f} s; attacker got {attacker.replies}")
    assert attacked >= SHARE * alone, (alone, attacked)
    assert first_frame < 3.0, first_frame
    assert gone < 1.0, gone
    assert after >= SHARE * alone, (alone, after)
    # the attack really was costly, and its repeats were refused or coalesced, not run
    assert attacker.replies.get("gradcheck", 0) >= 1, attacker.replies
    assert any("gradient check is already waiting" in e for e in attacker.errors), attacker.errors[:3]
    assert server.wait_idle()["connections"] == 0
    assert tracebacks(server) == []
