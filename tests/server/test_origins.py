"""The Host allow-list and the Origin check (server/origins.py) with FastAPI's TestClient: who is
served, who is refused and what they are told; then the real app's own pages and forms (same
origin) still work through it."""
from __future__ import annotations

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.origins import OriginGuard, allowed_host_names, host_allowed, host_name, is_ip_literal
from server.settings import Settings

EXTRA = "http://allowed.example:9999"


def guarded(**guard) -> TestClient:
    """A tiny app behind the guard: GET and POST /thing, a websocket at /ws (accepts everything)."""
    app = FastAPI()

    @app.get("/thing")
    @app.post("/thing")
    @app.put("/thing")
    @app.patch("/thing")
    @app.delete("/thing")
    async def thing():
        return {"ok": True}

    @app.websocket("/ws")
    async def ws(socket: WebSocket):
        await socket.accept()
        await socket.send_json({"ok": True})
        await socket.close()

    app.add_middleware(OriginGuard, **{"allow_origins": [EXTRA], **guard})
    return TestClient(app, base_url="http://127.0.0.1:8000")


def test_host_names_and_ip_literals():
    assert host_name("Evil.Example:8000") == "evil.example" and host_name("laptop.local.") == "laptop.local"
    assert host_name("[::1]:8000") == "[::1]" and host_name("10.0.0.5") == "10.0.0.5"
    assert is_ip_literal("192.168.1.20") and is_ip_literal("[fe80::1]") and is_ip_literal("[::1]")
    assert not is_ip_literal("::1") and not is_ip_literal("evil.example") and not is_ip_literal("2130706433")
    names = allowed_host_names(["Laptop.Local:8000"], bind_host="0.0.0.0")
    assert names == {"localhost", "laptop.local"}
    assert allowed_host_names([], bind_host="class.example") == {"localhost", "class.example"}
    assert host_allowed(None, names)  # no Host header: HTTP/1.0, not a browser
    for host in ("127.0.0.1:8000", "10.0.0.7:8000", "[::1]:8000", "localhost:8000", "LOCALHOST", "laptop.local:1"):
        assert host_allowed(host, names), host
    for host in ("evil.example:8000", "127.0.0.1.nip.io:8000", "localhost.evil.example", "testserver"):
        assert not host_allowed(host, names), host
    assert host_allowed("anything.example", allowed_host_names(["*"]))


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_foreign_host_is_refused_on_every_method(method):
    reply = guarded().request(method, "/thing", headers={"Host": "evil.example:8000"})
    assert reply.status_code == 400
    assert "'evil.example:8000'" in reply.text and "--allow-host evil.example" in reply.text


def test_allowed_hosts_pass():
    client = guarded(allow_hosts=["laptop.local"])
    for host in ("127.0.0.1:8000", "192.168.0.12:8000", "[::1]:8000", "localhost:8000", "laptop.local:8000"):
        assert client.post("/thing", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_cross_site_state_change_is_refused(method):
    client = guarded()
    reply = client.request(method, "/thing", headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
    assert reply.status_code == 403
    detail = reply.json()["detail"]
    assert "'https://evil.example'" in detail and "--allow-origin https://evil.example" in detail
    reply = client.request(method, "/thing", headers={"Sec-Fetch-Site": "cross-site"})
    assert reply.status_code == 403 and "Sec-Fetch-Site: cross-site" in reply.json()["detail"]
    assert client.request(method, "/thing", headers={"Origin": "null"}).status_code == 403  # sandboxed / file://


def test_same_origin_allowed_origin_and_non_browsers_pass():
    client = guarded()
    for headers in ({"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}, {"Origin": EXTRA},
                    {"Origin": EXTRA + "/"}, {}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}):
        assert client.post("/thing", headers=headers).status_code == 200, headers
    # reading is not a state change: a foreign Origin on GET passes (CORS keeps the answer from it)
    assert client.get("/thing", headers={"Origin": "https://evil.example"}).status_code == 200
    assert guarded(allow_origins=["*"]).post("/thing", headers={"Origin": "https://any.example"}).status_code == 200


def test_websockets_follow_the_same_rules():
    client = guarded()
    with client.websocket_connect("ws://127.0.0.1:8000/ws", headers={"Origin": "http://127.0.0.1:8000"}) as ws:
        assert ws.receive_json() == {"ok": True}
    with client.websocket_connect("ws://127.0.0.1:8000/ws") as ws:  # no Origin: not a browser
        assert ws.receive_json() == {"ok": True}
    for headers in ({"Origin": "https://evil.example"}, {"Host": "evil.example:8000"},
                    {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}):
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("ws://127.0.0.1:8000/ws", headers=headers):
                pass
        assert refused.value.code == 1008, headers


def test_real_servers_never_allow_the_test_client_host():
    from server.__main__ import parse_args

    assert "testserver" in Settings().allow_hosts  # in-process Settings, for the TestClient tests
    assert parse_args([]).allow_hosts == []
    assert parse_args(["--allow-host", "Laptop.Local", "--allow-host", "class.example"]).allow_hosts == [
        "laptop.local", "class.example"]
    with pytest.raises(SystemExit):
        parse_args(["--allow-host", "http://laptop.local:8000"])


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("db") / "runs.sqlite3", workers=1, allow_hosts=[]))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def test_the_apps_own_pages_and_forms_pass_and_foreign_ones_do_not(app_client):
    same = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    for path in ("/", "/lab", "/api/limits", "/healthz"):
        assert app_client.get(path).status_code in (200, 503), path  # 503: a template missing
    room = app_client.post("/api/rooms", json={"kind": "playground"}, headers=same)
    assert room.status_code == 201, room.text
    assert room.json()["student_url"] == f"http://127.0.0.1:8000/room/{room.json()['code']}"
    assert app_client.get(f"/api/rooms/{room.json()['code']}/qr.svg").status_code == 200
    csv = app_client.post("/api/csv", content="x1,x2,label\n0,1,0\n1,0,1\n", headers={**same, "Content-Type": "text/csv"})
    assert csv.status_code in (200, 201), csv.text
    evil = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    assert app_client.post("/api/runs", content="{}", headers=evil).status_code == 403
    assert app_client.post("/api/rooms", json={"kind": "playground"}, headers=evil).status_code == 403
    assert app_client.get("/api/runs", headers={"Host": "evil.example:8000"}).status_code == 400
    # the Settings default lets the TestClient's own Host in; an app made with allow_hosts=[] does not
    assert app_client.get("/api/runs", headers={"Host": "testserver"}).status_code == 400
