"""HTTP routes with FastAPI's TestClient: pages, plotly served locally, datasets, presets, schema,
CSV upload and the saved-runs API (SQLite in a temporary folder)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from engine.config import TrainConfig
from server import limits
from server.app import create_app
from server.runs import HISTORY_COLUMNS
from server.settings import PROJECT_ROOT, Settings


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
    too_many = http.get("/api/datasets/circle/preview", params={"n": limits.MAX_POINTS + 1})
    assert too_many.status_code == 422 and "2000" in too_many.text


def test_config_schema_is_the_train_config(http):
    schema = http.get("/api/config-schema").json()
    assert schema == json.loads(json.dumps(TrainConfig.model_json_schema()))
    assert "optimizer" in schema["properties"]


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
    ({"config": {"optimizer": {"learning_rate": -1}}}, ["optimizer.learning_rate"]),
    ({"config": {"network": {"hidden": [32]}}}, ["config.network.hidden.0", "16"]),
    ({"history": {"columns": ["a"], "rows": [[1, 2]]}}, ["row 0"]),
])
def test_post_run_validation(http, change, words):
    record = {"name": "bad", "config": {}, **change}
    reply = http.post("/api/runs", json=record)
    assert reply.status_code == 422
    for word in words:
        assert word in json.dumps(reply.json())
