"""A diverged run shows its blow-up: the `diverged` message, `state`, frame headers and the saved
cost history carry the last finite mini-batch cost at its iteration and the iteration where the
run diverged (not the restored one), all finite (JSON without NaN/inf)."""
from __future__ import annotations

import json
import math
import time

from engine.config import TrainConfig
from server.sessions import Session

# GD at α = 3 on the regression plane: the cost grows for a few hundred iterations, then overflows.
DIVERGING = {"data": {"name": "reg_plane", "noise": 0.1}, "network": {"hidden": [8, 8]},
             "optimizer": {"name": "gd", "learning_rate": 3.0}, "batch_size": 400}


def diverged_session() -> Session:
    session = Session(TrainConfig.model_validate({**DIVERGING, "epochs": 100000}))
    for _ in range(200):
        session.step(25)
        if session.finished:
            break
    assert session.trainer.status == "diverged"
    return session


def test_state_frame_and_history_carry_the_blow_up():
    session = diverged_session()
    t = session.trainer
    d = session.divergence()
    assert d["diverged_at"] == t.diverged_at == t.iteration and d["restored_iteration"] == t.restored_iteration
    cost, at = d["last_finite_minibatch_cost"], d["last_finite_minibatch_iteration"]
    assert math.isfinite(cost) and cost > 1e100 and at == t.last_finite_minibatch_iteration <= t.diverged_at
    json.dumps(d, allow_nan=False)

    state = json.loads(session.state_text(False, {}))
    assert state["status"] == "diverged" and state["iteration"] == t.diverged_at and state["divergence"] == d

    header = session.frame_header("diverged")  # no frame is sent for a diverged run: its header's figures
    json.dumps(header, allow_nan=False)
    assert header["minibatch_cost"] is None  # the restored weights' step: none
    assert header["divergence"] == d
    assert (header["last_finite_minibatch_cost"], header["last_finite_minibatch_iteration"]) == (cost, at)

    columns = session.history.as_dict()["columns"]
    rows = [dict(zip(columns, r)) for r in session.history.as_dict()["rows"]]
    json.dumps(rows, allow_nan=False)
    assert rows[-1]["iteration"] == t.diverged_at
    point = next(r for r in rows if r["iteration"] == at)
    assert point["minibatch_cost"] == cost
    # the restored weights' full-set costs are not plotted at the blow-up (they belong to restored_iteration)
    if at == t.diverged_at:
        assert rows[-1]["train_cost"] is None or rows[-1]["train_cost"] > 1e100

    session.set({"learning_rate": 0.001})  # a later snapshot of the diverged run keeps the same rows
    session.snapshot_dict
    assert [dict(zip(columns, r)) for r in session.history.as_dict()["rows"]] == rows


def test_diverged_message_over_the_socket(client):
    client.configure(**DIVERGING)
    client.send({"type": "play"})
    deadline = time.monotonic() + 20
    last_frame_iteration = 0
    while True:
        message = client.recv(timeout=20)
        if isinstance(message, tuple):
            last_frame_iteration = message[0]["iteration"]
            client.send({"type": "ready"})
        elif message["type"] == "diverged":
            break
        assert time.monotonic() < deadline
    text = json.dumps(message, allow_nan=False)
    assert "Infinity" not in text and "NaN" not in text
    assert message["iteration"] == message["diverged_at"] > last_frame_iteration
    # restored_iteration None: the weights were finite but beyond a frame's float32 (nothing restored)
    assert message["restored_iteration"] is None or message["restored_iteration"] <= message["diverged_at"]
    cost = message["last_finite_minibatch_cost"]
    assert math.isfinite(cost) and cost > 1e10  # far above the healthy ~0.2
    assert last_frame_iteration < message["last_finite_minibatch_iteration"] <= message["diverged_at"]
