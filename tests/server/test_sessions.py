"""Session frames without the per-step snapshot, the weights as float32 arrays, and the worker ↔ main
transport (Outbox on the worker side, batched writes on the main side), without a server."""
from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest

from engine.config import TrainConfig
from server import limits
from server.frames import NonFiniteFrame
from server.sessions import Session
from server.worker_process import Outbox
from server.workers import Worker, command_bytes
from tests.fresh_loop import run_fresh
from tests.server.conftest import decode_frame

CONFIG = TrainConfig.model_validate({"data": {"name": "spiral", "n": 200}, "network": {"hidden": [6, 4]},
                                     "optimizer": {"name": "adam", "learning_rate": 0.02}, "batch_size": 16,
                                     "epochs": 100000})


def count_snapshots(session: Session) -> list:
    calls = []
    original = session.trainer.snapshot
    session.trainer.snapshot = lambda: (calls.append(1), original())[1]
    return calls


# ----------------------------------------------------------------------------- weights
def test_frame_carries_every_parameter_as_float32_in_course_shapes():
    session = Session(CONFIG)
    session.step(25)
    params = session.trainer.network.params
    params["W1"][0, 0] = -1.23456789  # float32 keeps ~7 significant digits
    params["b3"][0, 0] = 12345.678
    header, arrays = decode_frame(session.frame("paused", 20))
    assert "weights" not in header
    assert [name for name in arrays if name not in ("boundary", "neurons")] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for name, value in params.items():
        assert header["arrays"][name]["dtype"] == "float32" and arrays[name].shape == value.shape
        assert np.array_equal(arrays[name], value.astype(np.float32))
    assert abs(arrays["W1"][0, 0] - -1.23456789) < 1e-7 and arrays["b3"][0, 0] == np.float32(12345.678)


def test_frame_with_a_non_finite_weight_is_refused():
    session = Session(CONFIG)
    session.trainer.network.params["W2"][1, 1] = np.nan
    with pytest.raises(NonFiniteFrame, match="W2"):
        session.frame("paused", 20)


# ----------------------------------------------------------------------------- snapshots on demand
def test_steps_compute_no_snapshot_and_frames_show_the_current_state():
    session = Session(CONFIG)
    calls = count_snapshots(session)
    for _ in range(5):
        session.step(7)
    assert calls == []  # trained in chunks: no full-set passes
    header, arrays = decode_frame(session.frame("running", 30))
    assert calls == [1] and header["iteration"] == 35 == session.trainer.iteration
    fresh = session.trainer.snapshot().to_dict()
    assert (header["train"], header["dev"], header["minibatch_cost"]) == \
        (fresh["train"], fresh["dev"], fresh["minibatch_cost"])
    session.frame("running", 30)
    assert len(calls) == 2  # the counted call above was fresh; a frame without training reuses
    np.testing.assert_allclose(arrays["boundary"], session.trainer.grid(30)[2], rtol=0, atol=1 / 510 + 1e-5)
    assert [row[0] for row in session.history.rows] == [0, 35]  # one row per snapshot


def test_history_keeps_rows_while_no_frame_is_drawn(monkeypatch):
    session = Session(CONFIG)
    monkeypatch.setattr(Session, "HISTORY_SECONDS", 0.0)
    for _ in range(3):
        session.step(4)
    assert [row[0] for row in session.history.rows] == [0, 4, 8, 12]


def test_the_browser_curve_and_the_server_s_share_their_cap():
    """static/js/cost-curve.js keeps as many points as a saved run's history (its rule is checked
    against server/cost_curve.py in tests/e2e/test_cost_curve.py)."""
    text = (Path(__file__).resolve().parents[2] / "static" / "js" / "cost-curve.js").read_text()
    assert re.search(r"export const CAP = ([\d_]+);", text).group(1).replace("_", "") == str(limits.MAX_HISTORY_ROWS)


# ----------------------------------------------------------------------------- messages
def test_the_points_go_in_data_once_and_state_carries_only_the_run():
    session = Session(CONFIG)
    data = json.loads(session.data_text())
    assert data["type"] == "data" and data["kind"] == "binary" and data["classes"] == 2
    assert len(data["train"]["x1"]) == 160 and data["domain"] is not None
    assert session.data_text() is session.data_text()  # built once
    state = json.loads(session.state_text(False, {}))
    assert state["type"] == "state" and "data" not in state
    session.reset()
    assert json.loads(session.data_text()) == data  # reset keeps the points


def test_set_and_set_weight_make_the_next_frame_recompute():
    session = Session(CONFIG)
    session.step(10)
    session.frame("paused", 20)
    session.set({"l2": 5.0})
    header, _ = decode_frame(session.frame("paused", 20))
    assert header["train"]["reg_cost"] > 0.0
    session.set_weight(1, 0, 0, 3.5)
    header, arrays = decode_frame(session.frame("paused", 20))
    assert arrays["W1"][0, 0] == 3.5
    assert header["train"]["cost"] == session.trainer.snapshot().train.cost


# ----------------------------------------------------------------------------- transport
def test_outbox_sends_queued_messages_in_connection_framing():
    ours, theirs = socket.socketpair()
    outbox = Outbox(ours)
    big = bytes(range(256)) * 1200  # 300 KB: more than a socket buffer, sent in parts
    received, conn = [], Connection(theirs.detach())
    reader = threading.Thread(target=lambda: received.extend(conn.recv_bytes() for _ in range(3)))
    reader.start()
    outbox.emit(7, b"T", b'{"type":"state"}')
    outbox.emit(7, b"F", big)
    outbox.emit(1 << 31, b"I", b"{}")
    outbox.flush()
    reader.join(timeout=10)
    assert received == [b"\x07\x00\x00\x00T" + b'{"type":"state"}', b"\x07\x00\x00\x00F" + big,
                        b"\x00\x00\x00\x80I{}"]
    assert outbox.parts == []
    conn.close()
    ours.close()


class ShortWrites:
    """A socket whose sendmsg takes at most `limit` bytes per call."""

    def __init__(self, limit: int):
        self.limit, self.data = limit, bytearray()

    def sendmsg(self, buffers):
        joined = b"".join(bytes(b) for b in buffers)[:self.limit]
        self.data += joined
        return len(joined)


def test_outbox_finishes_partial_sends():
    sock = ShortWrites(limit=5)
    outbox = Outbox(sock)
    outbox.emit(2, b"F", b"0123456789abc")
    outbox.emit(3, b"T", b"xyz")
    outbox.flush()
    assert bytes(sock.data) == (b"\x00\x00\x00\x12" + b"\x02\x00\x00\x00F0123456789abc"
                                + b"\x00\x00\x00\x08" + b"\x03\x00\x00\x00Txyz")


def test_messages_of_one_event_loop_turn_go_out_in_one_write():
    class Writer:
        def __init__(self):
            self.writes = []

        def write(self, data):
            self.writes.append(data)

        def is_closing(self):
            return False

    async def scenario():
        worker = Worker(0)
        worker.writer = Writer()
        worker.send(1, "want", {})
        worker.send(2, "play", {})
        worker.write(command_bytes(3, "want", {}))
        assert worker.writer.writes == []  # not yet: at the end of this turn
        await asyncio.sleep(0)
        worker.send(4, "pause", {})
        await asyncio.sleep(0)
        return worker.writer.writes

    writes = run_fresh(scenario())
    expected = [command_bytes(1, "want", {}) + command_bytes(2, "play", {}) + command_bytes(3, "want", {}),
                command_bytes(4, "pause", {})]
    assert writes == expected
