"""`python -m server` (the server fixture runs it) and the pieces around it: settings, limits."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from engine.config import TrainConfig
from server import limits
from server.__main__ import parse_args
from server.limits import RateLimiter
from server.settings import DEFAULT_DB_PATH
from server.workers import WORKER_ENV


def test_python_m_server_prints_its_url_and_serves_everything_locally(server):
    assert f"http://127.0.0.1:{server.port}/" in server.first_line
    assert httpx.get(server.http + "/static/vendor/plotly.min.js").status_code == 200
    assert httpx.get(server.http + "/healthz").json()["status"] == "ok"
    assert len(server.health()["workers"]) == 2


def test_workers_run_with_one_blas_thread_and_the_heap_policy(server):
    for worker in server.health()["workers"]:
        environ = Path(f"/proc/{worker['pid']}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        assert {key: env.get(key) for key in WORKER_ENV} == WORKER_ENV
        assert WORKER_ENV["OPENBLAS_NUM_THREADS"] == "1"


def test_command_line_options(tmp_path):
    s = parse_args(["--host", "0.0.0.0", "--port", "9001", "--db", str(tmp_path / "r.db"),
                    "--allow-origin", "http://a:1", "--allow-origin", "http://b:2/", "--fps", "12"])
    assert (s.host, s.port, s.db_path, s.fps) == ("0.0.0.0", 9001, tmp_path / "r.db", 12)
    assert s.allow_origins == ["http://a:1", "http://b:2"]
    defaults = parse_args([])
    assert (defaults.host, defaults.port, defaults.db_path, defaults.fps) == ("127.0.0.1", 8000, DEFAULT_DB_PATH, 30)
    with pytest.raises(SystemExit):
        parse_args(["--fps", "61"])


def test_config_violations_name_fields():
    ok = TrainConfig.model_validate({"network": {"hidden": [16] * 6}, "data": {"n": 2000}})
    assert limits.config_violations(ok) == []
    bad = TrainConfig.model_validate({"network": {"hidden": [17] * 7}, "data": {"n": 2001}, "backend": "cupy"})
    fields = [f for f, _ in limits.config_violations(bad, csv_inputs=17)]
    assert fields == ["config.network.hidden"] + [f"config.network.hidden.{i}" for i in range(7)] + [
        "config.data.n", "csv_id", "config.backend"]


def test_rate_limiter_token_bucket():
    now = [0.0]
    bucket = RateLimiter(60, clock=lambda: now[0])
    assert sum(bucket.allow() for _ in range(100)) == 60  # a burst of at most `rate`
    assert not bucket.allow()
    now[0] += 0.5  # half a second refills 30 tokens
    assert sum(bucket.allow() for _ in range(100)) == 30
    now[0] += 100  # never more than `rate` saved up
    assert sum(bucket.allow() for _ in range(100)) == 60
