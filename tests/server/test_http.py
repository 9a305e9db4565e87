"""HTTP routes with FastAPI's TestClient: pages, plotly served locally, datasets, presets, schema,
CSV upload and the saved-runs API (SQLite in a temporary folder)."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
from fastapi.testclient import TestClient

from engine.config import TrainConfig
from server import limits
from server.app import create_app
from server.runs import HISTORY_COLUMNS, RunRecord, RunStore
from server.settings import PROJECT_ROOT, Settings
from tests.server.test_divergence_curve import diverged_session


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "nested" / "runs.sqlite3"
    app = create_app(Settings(db_path=db, workers=1))
    with TestClient(app) as client:
        client.db_path = db
        yield client


def test_pages_and_local_plotly(http):
    for path in ("/", "/lab"):
        page = http.get(path)
        template = PROJECT_ROOT / "templates" / ("index.html" if path == "/" else "lab.html")
        if template.is_file():
            assert page.status_code == 200 and "<html" in page.text.lower()
        else:
            assert page.status_code == 503 and "missing" in page.text
    js = http.get("/static/vendor/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    assert http.get("/docs").status_code == 200
    assert http.get("/static/nope.js").status_code == 404


def test_healthz(http):
    health = http.get("/healthz").json()
    assert health["status"] == "ok" and health["connections"] == 0
    assert len(health["workers"]) == 1 and health["workers"][0]["alive"]


def test_datasets_and_preview(http):
    names = {d["name"]: d["kind"] for d in http.get("/api/datasets").json()}
    assert names["spiral"] == "binary" and names["multi_blobs"] == "multiclass" and names["reg_plane"] == "regression"
    preview = http.get("/api/datasets/multi_blobs/preview", params={"n": 90, "classes": 3, "noise": 0.2}).json()
    assert len(preview["x1"]) == len(preview["x2"]) == len(preview["y"]) == 90
    assert sorted(set(preview["y"])) == [0, 1, 2] and preview["domain"] == [-6, 6, -6, 6]
    assert http.get("/api/datasets/nope/preview").status_code == 404
    rounded = http.get("/api/datasets/spiral/preview", params={"n": 50, "noise": 0.3, "decimals": 1}).json()
    exact = http.get("/api/datasets/spiral/preview", params={"n": 50, "noise": 0.3}).json()
    assert rounded["x1"] == [round(v, 1) for v in exact["x1"]] != exact["x1"]
    every = http.get("/api/datasets/previews", params={"n": 50, "noise": 0.3, "decimals": 1}).json()
    assert sorted(every) == sorted(d["name"] for d in http.get("/api/datasets").json() if d["name"] != "csv")
    assert every["spiral"] == rounded
    assert http.get("/api/datasets/previews", params={"decimals": 9}).status_code == 422
    too_many = http.get("/api/datasets/circle/preview", params={"n": limits.MAX_POINTS + 1})
    assert too_many.status_code == 422 and "2000" in too_many.text


def test_config_schema_is_the_train_config(http):
    schema = http.get("/api/config-schema").json()
    assert schema == json.loads(json.dumps(TrainConfig.model_json_schema()))
    assert "optimizer" in schema["properties"]


def test_pages_embed_the_schema_without_its_texts(http):
    """The playground embeds the schema for its controls: every type, range, choice, default and
    mark as served by /api/config-schema, none of the titles and descriptions."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("title", "description")}
        return [strip(v) for v in node] if isinstance(node, list) else node

    page = http.get("/").text
    embedded = json.loads(re.search(r'<script type="application/json" id="config-schema">(.*?)</script>', page, re.S).group(1))
    full = http.get("/api/config-schema").json()
    assert embedded == strip(full) != full
    assert "description" not in json.dumps(embedded)
    assert embedded["$defs"]["OptimizerConfig"]["properties"]["learning_rate"] == {
        k: v for k, v in full["$defs"]["OptimizerConfig"]["properties"]["learning_rate"].items() if k not in ("title", "description")}


def test_limits_route(http):
    assert http.get("/api/limits").json() == limits.LIMITS


def test_presets_are_served(http):
    presets = http.get("/api/presets").json()
    assert len(presets) >= 12
    assert all(set(p) == {"id", "title", "text", "config", "topic"} for p in presets)


def test_csv_upload_good(http):
    text = "x1,x2,label\n" + "\n".join(f"{i},{i % 7},{i % 3}" for i in range(30))
    reply = http.post("/api/csv", content=text)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["rows"] == 30 and body["n_x"] == 2 and body["kind"] == "multiclass" and body["classes"] == 3
    assert http.app.state.uploads.get(body["id"]).m == 30


@pytest.mark.parametrize("text, status, words", [
    ("x1,x2,label\n1,2\n", 400, ["line 2"]),
    ("x1,x2,label\n1,abc,0\n2,3,1\n", 400, ["line 2", "x2", "abc"]),
    ("/etc/passwd", 400, ["line 1", "unknown column"]),  # bytes are never read as a path
    ("x1,label\n" + "1,0\n2,1\n" * 2600, 400, ["5000"]),
    ("x1,label\n" + "1.0000,0\n" * 120_000, 413, ["1048576"]),
    ("x10000000,label\n1,0\n2,1\n", 400, ["line 1", "'x10000000'", "beyond the header's 2 columns"]),
    (",".join(f"x{i}" for i in range(1, 20_001)) + ",label\n1,0\n", 400, ["20001 columns", "at most 18"]),
    (",".join(f"x{i}" for i in range(1, 18)) + ",label\n" + "1," * 17 + "0\n", 400, ["17 input columns", "at most 16"]),
    ("x1,label\n1,0\n2," + "1" * 100_000 + "\n", 400, ["line 3", "'label'", "at most 40"]),
])
def test_csv_upload_bad(http, text, status, words):
    reply = http.post("/api/csv", content=text)
    assert reply.status_code == status, reply.text
    for word in words:
        assert word in reply.json()["detail"]
    assert "root:" not in reply.text


def test_saved_runs_round_trip(http):
    assert http.get("/api/runs").json() == []  # no database file yet: no runs, nothing created
    assert not http.db_path.exists()
    history = {"columns": HISTORY_COLUMNS, "rows": [[i, 0, 0.1, 0.7 - i / 100] + [None] * 8 for i in range(3)]}
    config = TrainConfig.model_validate({"network": {"hidden": [3]}}).model_dump(mode="json")
    record = {"name": "tiny", "config": config, "history": history,
              "weights": {"W1": [[0.1, 0.2]] * 3, "b1": [[0.0]] * 3}, "summary": {"iteration": 2}}
    created = http.post("/api/runs", json=record)
    assert created.status_code == 201 and http.db_path.exists()
    run_id = created.json()["id"]
    listed = http.get("/api/runs").json()
    assert [(r["id"], r["name"], r["summary"]) for r in listed] == [(run_id, "tiny", {"iteration": 2})]
    run = http.get(f"/api/runs/{run_id}").json()
    assert run["config"] == config and run["weights"] == record["weights"] and run["history"] == history
    export = http.get(f"/api/runs/{run_id}/export.json")
    assert "attachment" in export.headers["content-disposition"] and json.loads(export.text)["name"] == "tiny"
    table = list(csv.reader(io.StringIO(http.get(f"/api/runs/{run_id}/history.csv").text)))
    assert table[0] == HISTORY_COLUMNS and table[2][:4] == ["1", "0", "0.1", "0.69"] and table[2][4] == ""
    assert http.delete(f"/api/runs/{run_id}").json() == {"deleted": run_id}
    assert http.get(f"/api/runs/{run_id}").status_code == 404
    assert http.delete(f"/api/runs/{run_id}").status_code == 404


@pytest.mark.parametrize("change, words", [
    ({"name": ""}, ["name"]),
    ({"config": {"early_stopping": {"min_delta": float("inf")}}}, ["config.early_stopping.min_delta", "finite"]),
    ({"config": {"data": {"noise": float("nan")}}}, ["config.data.noise", "finite"]),
    ({"weights": {"W1": [[0.5, float("-inf")]]}}, ["weights: W1.0.1 must be a finite number"]),
    ({"summary": {"train": {"cost": float("nan")}}}, ["summary: train.cost must be a finite number"]),
    ({"history": {"columns": ["a", "b"], "rows": [[1, float("nan")]]}}, ["history: row 0, column 'b'", "finite"]),
    ({"config": {"optimizer": {"learning_rate": -1}}}, ["optimizer.learning_rate"]),
    ({"config": {"network": {"hidden": [32]}}}, ["config.network.hidden.0", "16"]),
    ({"history": {"columns": ["a"], "rows": [[1, 2]]}}, ["row 0"]),
])
def test_post_run_validation(http, change, words):
    record = {"name": "bad", "config": {}, **change}
    reply = http.post("/api/runs", content=json.dumps(record), headers={"content-type": "application/json"})
    assert reply.status_code == 422
    for word in words:
        assert word in json.dumps(reply.json())


def test_saved_run_body_is_capped_declared_or_streamed(http):
    big = b'{"name": "' + b"a" * limits.MAX_RUN_BYTES + b'"}'
    declared = http.post("/api/runs", content=big)
    assert declared.status_code == 413 and "at most 1048576" in declared.json()["detail"]
    streamed = http.post("/api/runs", content=(big[i:i + 65536] for i in range(0, len(big), 65536)))
    assert streamed.status_code == 413 and "at most 1048576 bytes" in streamed.json()["detail"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/runs/{}"), ("DELETE", "/api/runs/{}"),
    ("GET", "/api/runs/{}/export.json"), ("GET", "/api/runs/{}/history.csv"),
])
def test_run_ids_beyond_sqlite_are_refused(http, method, path):
    for run_id, bound in ((2**63, "less than or equal to 9223372036854775807"), (0, "greater than or equal to 1"),
                          ("9" * 5000, "exceeded maximum size")):
        reply = http.request(method, path.format(run_id))
        assert reply.status_code == 422, reply.text
        (problem,) = reply.json()["detail"]
        assert problem["loc"] == ["path", "run_id"] and bound in problem["msg"]
    assert http.request(method, path.format(2**63 - 1)).status_code == 404


def test_run_store_is_safe_for_any_int(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite3")
    store.save(RunRecord(name="one", config=TrainConfig()))
    for run_id in (2**63, -(2**63) - 1, 10**100, 0, -1):
        assert store.get(run_id) is None and store.delete(run_id) is False
    assert store.get(1)["name"] == "one"


def test_non_finite_values_of_older_rows_read_back_as_null(http):
    config = TrainConfig().model_dump(mode="json")
    run_id = http.post("/api/runs", json={"name": "old", "config": config}).json()["id"]
    with sqlite3.connect(http.db_path) as db:  # as an older version stored them
        db.execute("UPDATE runs SET summary = ?, weights = ? WHERE id = ?",
                   ('{"cost": NaN}', '{"W1": [[Infinity, 1.0]]}', run_id))
    run = http.get(f"/api/runs/{run_id}").json()
    assert run["summary"] == {"cost": None} and run["weights"] == {"W1": [[None, 1.0]]}
    export = http.get(f"/api/runs/{run_id}/export.json")
    assert export.status_code == 200 and "NaN" not in export.text and "Infinity" not in export.text
    assert json.loads(export.text)["summary"] == {"cost": None}
    http.delete(f"/api/runs/{run_id}")


def test_a_diverged_runs_own_record_is_saved():
    """What the page saves for a diverged run (Session.record over the websocket) is finite already
    (null where a cost blew up): RunRecord accepts it, so refusing NaN costs the page nothing."""
    record = diverged_session().record("blew up")
    run = RunRecord.model_validate(record)
    assert run.summary["status"] == "diverged"
    json.dumps(run.model_dump(mode="json"), allow_nan=False)
