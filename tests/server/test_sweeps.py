"""The Search page's server side (docs/protocol.md "Sweeps", docs/limits.md "Sweeps"): /ws/sweep on
the real server (`python -m server`, tests/server/conftest.py), its sweeps in the server's own
process pool. Trials are tiny (100 points, a few epochs) so the whole module takes seconds."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from engine.sweep import parse_sweep, run_sweep, trial_config
from server import limits
from tests.server.conftest import Client

TINY = {"base": {"epochs": 5, "data": {"name": "moons", "n": 100}, "network": {"hidden": [4]}},
        "trials": 6, "seed": 3, "metric": "dev.accuracy",
        "space": {"optimizer.learning_rate": {"log_uniform": [1e-3, 1]},
                  "network.hidden.0": {"int_uniform": [2, 8]},
                  "batch_size": {"choice": [16, 64]}}}
# Long enough to be cancelled while it runs: ~0.3-1 s a trial, 40 of them.
SLOW = {**TINY, "trials": 40, "base": {**TINY["base"], "epochs": 1000, "data": {"name": "moons", "n": 400}}}


def without_seconds(entry):
    return None if entry is None else {k: v for k, v in entry.items() if k != "seconds"}


@pytest.fixture()
def sweep_client(server):
    with Client(f"ws://127.0.0.1:{server.port}/ws/sweep") as c:
        hello = c.recv()
        assert hello["type"] == "limits" and hello["limits"] == limits.SWEEP_LIMITS
        yield c


def stats(server) -> dict:
    return httpx.get(server.http + "/api/sweeps", timeout=10).json()


def wait_freed(server, timeout: float = 10.0) -> dict:
    """/api/sweeps once no sweep runs and no trial is in the pool (or the last reading)."""
    deadline = time.monotonic() + timeout
    while True:
        now = stats(server)
        if (now["running"] == 0 and now["trials_in_pool"] == 0) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def start_error(client, sweep=None, **extra) -> dict:
    client.send({"type": "start", **({"sweep": sweep} if sweep is not None else {}), **extra})
    reply = client.recv(timeout=30)
    assert reply["type"] == "error", reply
    return reply


def test_a_sweep_streams_its_trials_and_ends_with_the_engines_result(sweep_client):
    sweep_client.send({"type": "start", "sweep": TINY})
    started = sweep_client.recv(timeout=30)
    assert started["type"] == "started"
    assert started["total"] == 6 and started["metric"] == "dev.accuracy" and started["space"] == TINY["space"]
    spec = parse_sweep(TINY)
    trials = []
    while True:
        message = sweep_client.recv(timeout=60)
        if message["type"] == "done":
            break
        assert message["type"] == "trial"
        trials.append(message)
        entry, progress = message["trial"], message["progress"]
        assert progress["done"] == len(trials) and progress["total"] == 6
        # the config the page opens in the playground: the trial's own
        assert message["config"] == trial_config(spec, entry["params"], entry["trial"])
    assert message["status"] == "done" and message["reason"] is None
    assert sorted(m["trial"]["trial"] for m in trials) == list(range(6))
    result = message["result"]
    # the same trials, to the same numbers, as the engine's own run on another executor
    with ThreadPoolExecutor(2) as executor:
        expected = run_sweep(parse_sweep(TINY), executor)
    assert [without_seconds(e) for e in result["trials"]] == [without_seconds(e) for e in expected["trials"]]
    assert without_seconds(result["best"]) == without_seconds(expected["best"])
    assert without_seconds(trials[-1]["progress"]["best"]) == without_seconds(expected["best"])


@pytest.mark.parametrize("sweep, field, words", [
    ({k: v for k, v in TINY.items() if k != "trials"}, "sweep.trials", "required"),
    ({**TINY, "metric": "test.accuracy"}, "sweep.metric", "dev.accuracy"),
    ({**TINY, "space": {"optimizer.learning_rate": {"log_uniform": [0, 1]}}}, "sweep.space.optimizer.learning_rate",
     "0 < lo < hi"),
    ({**TINY, "space": {"optimizer.nothing": {"uniform": [0, 1]}}}, "sweep.space.optimizer.nothing", "nothing"),
    ({**TINY, "base": {**TINY["base"], "epochs": -1}}, "sweep.base.epochs", "greater than or equal to 0"),
    ({**TINY, "base": {**TINY["base"], "data": {"name": "moons", "split": [1, 0, 0]}}}, "sweep.metric", "dev set"),
])
def test_an_invalid_sweep_is_refused_naming_the_field(sweep_client, sweep, field, words):
    reply = start_error(sweep_client, sweep)
    assert reply["field"] == field and words in reply["message"] and reply["request_type"] == "start"


def test_invalid_messages_name_the_field(sweep_client):
    sweep_client.send({"type": "go"})
    reply = sweep_client.recv()
    assert reply["field"] == "type" and "start, cancel" in reply["message"]
    reply = start_error(sweep_client, TINY, extra=1)
    assert reply["field"] == "extra" and "unknown field" in reply["message"]
    reply = start_error(sweep_client)
    assert reply["field"] == "sweep" and "required" in reply["message"]
    sweep_client.send({"type": "cancel"})
    assert "no sweep is running" in sweep_client.recv()["message"]
    reply = start_error(sweep_client, {**TINY, "base": {**TINY["base"], "data": {"name": "csv"}}})
    assert reply["field"] == "csv_id" and "POST /api/csv" in reply["message"]


@pytest.mark.parametrize("sweep, field, words", [
    ({**TINY, "trials": 150, "refine": {"rounds": 1}}, "sweep.trials",
     f"at most {limits.MAX_SWEEP_TRIALS} trials per sweep on this server, refine rounds included (got 150 × 2 rounds = 300)"),
    ({**TINY, "space": {"network.hidden.0": {"int_uniform": [2, 40]}}}, "sweep.space.network.hidden.0",
     f"units per layer must be in [1, {limits.MAX_NEURONS}]"),
    ({**TINY, "space": {"data.n": {"choice": [100, 5000]}}}, "sweep.space.data.n", "points must be in"),
    ({**TINY, "base": {**TINY["base"], "epochs": 100_000, "data": {"name": "moons", "n": 400}}}, "sweep.base.epochs",
     f"at most {limits.MAX_TRIAL_WORK:,} epochs × points"),
    ({**TINY, "trials": 200, "base": {**TINY["base"], "epochs": 2000, "data": {"name": "moons", "n": 1000}}},
     "sweep.trials", f"at most {limits.MAX_SWEEP_WORK:,} epochs × points"),
    ({**TINY, "space": {"epochs": {"int_uniform": [10, 30_000]}}}, "sweep.base.epochs", "30,000 epochs × 100 points"),
    # a key under a choice is checked with each choice that has it
    ({**TINY, "base": {**TINY["base"], "network": {"hidden": [4, 4]}},
      "space": {"network.hidden": {"choice": [[4, 4], [8, 8]]}, "network.hidden.1": {"int_uniform": [2, 30]}}},
     "sweep.space.network.hidden.1", "network.hidden.1 = 30 cannot be trained on this server"),
])
def test_a_sweep_beyond_the_servers_limits_is_refused(sweep_client, sweep, field, words):
    reply = start_error(sweep_client, sweep)
    assert reply["field"] == field and words in reply["message"], reply


def test_cancel_stops_the_sweep_and_frees_the_pool(server, sweep_client):
    sweep_client.send({"type": "start", "sweep": SLOW})
    assert sweep_client.recv(timeout=30)["type"] == "started"
    reply = start_error(sweep_client, TINY)  # one sweep per connection
    assert "already running" in reply["message"] and str(limits.MAX_SWEEPS_PER_SOCKET) in reply["message"]
    assert sweep_client.recv(timeout=60)["type"] == "trial"
    asked = time.monotonic()
    sweep_client.send({"type": "cancel"})
    while (message := sweep_client.recv(timeout=30))["type"] == "trial":
        pass
    assert message["type"] == "done" and message["status"] == "cancelled"
    assert message["reason"] == "cancelled by the client"
    assert time.monotonic() - asked < 2.0
    assert 1 <= len(message["result"]["trials"]) < 40
    freed = wait_freed(server, timeout=3)
    assert freed["running"] == 0 and freed["trials_in_pool"] == 0
    # the connection starts another sweep at once
    sweep_client.send({"type": "start", "sweep": {**TINY, "trials": 1}})
    assert sweep_client.recv(timeout=30)["type"] == "started"
    assert sweep_client.until("done", timeout=60)["status"] == "done"


def test_a_client_that_leaves_has_its_sweep_cancelled(server):
    with Client(f"ws://127.0.0.1:{server.port}/ws/sweep") as c:
        c.recv()
        c.send({"type": "start", "sweep": SLOW})
        assert c.recv(timeout=30)["type"] == "started"
        assert c.recv(timeout=60)["type"] == "trial"
        assert stats(server)["running"] == 1
    left = time.monotonic()
    freed = wait_freed(server, timeout=5)
    assert freed["running"] == 0 and freed["trials_in_pool"] == 0, freed
    assert time.monotonic() - left < 3.0


def test_the_servers_sweeps_are_capped(server):
    clients = [Client(f"ws://127.0.0.1:{server.port}/ws/sweep") for _ in range(limits.MAX_SWEEPS + 1)]
    try:
        for c in clients[:-1]:
            c.recv()
            c.send({"type": "start", "sweep": SLOW})
            assert c.recv(timeout=30)["type"] == "started"
        last = clients[-1]
        last.recv()
        reply = start_error(last, TINY)
        assert reply["field"] == "" and f"running {limits.MAX_SWEEPS} sweeps already" in reply["message"]
        clients[0].send({"type": "cancel"})
        assert clients[0].until("done", timeout=30)["status"] == "cancelled"
        deadline = time.monotonic() + 5
        while stats(server)["running"] >= limits.MAX_SWEEPS and time.monotonic() < deadline:
            time.sleep(0.05)
        last.send({"type": "start", "sweep": {**TINY, "trials": 1}})
        assert last.recv(timeout=30)["type"] == "started"
    finally:
        for c in clients:
            c.close()
    assert wait_freed(server)["running"] == 0


def test_a_foreign_origin_cannot_open_the_socket(server):
    with pytest.raises(InvalidStatus) as refused:
        Client(f"ws://127.0.0.1:{server.port}/ws/sweep", origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_the_search_page_and_the_sweeps_state_are_served(server):
    page = httpx.get(server.http + "/search", timeout=10)
    assert page.status_code == 200
    assert 'id="config-schema"' in page.text and 'id="sweep-limits"' in page.text and "/static/js/search/main.js" in page.text
    now = stats(server)
    assert now["limits"] == limits.SWEEP_LIMITS and now["max_sweeps"] == limits.MAX_SWEEPS and now["workers"] >= 1


def test_a_sweep_of_an_uploaded_csv_trains_on_its_rows(server, sweep_client):
    """The CSV the playground uploaded (POST /api/csv) is the trials' data: the same trials as the
    engine's run on the file's text (a split column and float inputs, written back exactly)."""
    import numpy as np

    rng = np.random.default_rng(5)
    rows = ["x1,x2,label,split"]
    for i in range(120):
        x1, x2 = (float(v) for v in rng.normal(size=2))
        rows.append(f"{x1!r},{x2!r},{int(x1 * x2 > 0)},{'dev' if i % 4 == 0 else 'train'}")
    text = "\n".join(rows) + "\n"
    upload = httpx.post(server.http + "/api/csv", content=text, timeout=10).json()
    sweep = {**TINY, "trials": 3, "base": {**TINY["base"], "data": {"name": "csv"}}}
    sweep_client.send({"type": "start", "sweep": sweep, "csv_id": upload["id"]})
    assert sweep_client.recv(timeout=30)["type"] == "started"
    done = sweep_client.until("done", timeout=60)
    assert done["status"] == "done"
    with ThreadPoolExecutor(2) as executor:
        expected = run_sweep(parse_sweep(sweep), executor, csv_text=text)
    assert [without_seconds(e) for e in done["result"]["trials"]] == [without_seconds(e) for e in expected["trials"]]
    reply = start_error(sweep_client, sweep, csv_id="nope")
    assert reply["field"] == "csv_id" and "expired" in reply["message"]


def pool_processes(server) -> list[int]:
    """The server's sweep-pool processes (spawned children running multiprocessing's spawn_main)."""
    import os

    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.process.pid and b"spawn_main" in cmdline:
            pids.append(int(pid))
    return pids


def test_a_trial_process_that_dies_fails_its_sweep_and_the_next_sweep_gets_a_new_pool(server, sweep_client):
    import os
    import signal

    sweep_client.send({"type": "start", "sweep": SLOW})
    assert sweep_client.recv(timeout=30)["type"] == "started"
    assert sweep_client.recv(timeout=60)["type"] == "trial"
    before = pool_processes(server)
    assert len(before) == stats(server)["workers"]
    with open(f"/proc/{before[0]}/stat") as f:  # the trials run below the playground's workers
        assert int(f.read().rsplit(")", 1)[1].split()[16]) == limits.SWEEP_NICE
    os.kill(before[0], signal.SIGKILL)
    done = sweep_client.until("done", timeout=30)
    assert done["status"] == "failed" and done["reason"].startswith("the sweep failed") and done["result"] is None
    sweep_client.send({"type": "start", "sweep": {**TINY, "trials": 2}})
    assert sweep_client.recv(timeout=30)["type"] == "started"
    assert sweep_client.until("done", timeout=60)["status"] == "done"
    assert not set(pool_processes(server)) & set(before)
