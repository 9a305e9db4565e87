"""Opening a lesson always starts it fresh: the lesson's whole config is sent with `configure`
and the run restarts (new data, new weights, iteration 0), from a fresh page, after playing
another lesson, and when the same lesson is chosen again (even when only live keys such as
keep_prob differ, which used to be sent as a `set` that kept the old run going)."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.helpers import TIMEOUT, iteration, open_playground, wait_iteration_above


@pytest.fixture(scope="module")
def presets(server_url) -> list[dict]:
    return httpx.get(f"{server_url}/api/presets").json()


def watch_socket(page) -> dict:
    """Record the JSON messages the page sends and receives on its websocket."""
    seen = {"sent": [], "received": []}

    def on_socket(ws):
        def keep(box):
            return lambda payload: box.append(json.loads(payload)) if isinstance(payload, str) else None
        ws.on("framesent", keep(seen["sent"]))
        ws.on("framereceived", keep(seen["received"]))

    page.on("websocket", on_socket)
    return seen


def open_lesson(page, lesson_id: str) -> None:
    page.click("#lesson-menu summary")
    page.click(f"#lesson-menu button[data-lesson='{lesson_id}']")


def first_state_after(page, seen: dict, count: int, lesson_id: str) -> dict:
    """The server's first `state` after received message number `count` (waits for it)."""
    for _ in range(TIMEOUT // 50):
        states = [m for m in seen["received"][count:] if m.get("type") == "state"]
        if states:
            return states[0]
        page.wait_for_timeout(50)  # lets Playwright deliver the socket events
    raise AssertionError(f"no state after opening {lesson_id}: received "
                         f"{[m.get('type') for m in seen['received'][count:]]}, sent {seen['sent'][-5:]}")


def assert_fresh(page, seen: dict, received_before: int, sent_before: int, preset: dict) -> None:
    state = first_state_after(page, seen, received_before, preset["id"])  # (socket events arrive late)
    configures = [m for m in seen["sent"][sent_before:] if m.get("type") == "configure"]
    assert len(configures) == 1, f"{preset['id']}: expected one configure, got {seen['sent'][sent_before:]}"
    assert not [m for m in seen["sent"][sent_before:] if m.get("type") in ("set", "play")], preset["id"]
    assert_config(configures[0]["config"], preset)
    assert (state["status"], state["iteration"], state["epoch"]) == ("ready", 0, 0), preset["id"]
    assert_config(state["config"], preset)
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'"
                           " && document.getElementById('iteration').textContent.replace(/[,0]/g, '') === ''",
                           timeout=TIMEOUT)
    assert page.locator("#lesson-card .lesson-title").text_content().endswith(preset["title"])
    assert page.locator("#banner-error").count() == 0


def assert_config(config: dict, preset: dict) -> None:
    """Every key of the lesson's config (a full TrainConfig) is what the run uses."""
    def leaves(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", v

    got = dict(leaves(config))
    for key, want in leaves(preset["config"]):
        if key == "features" and want is None:
            want = ["x1", "x2"]  # None = the data's inputs, x1 and x2 for the generated data sets
        if key in got:
            assert got[key] == pytest.approx(want) if isinstance(want, float) else got[key] == want, \
                f"{preset['id']}: {key} = {got[key]!r}, the lesson says {want!r}"
    assert (config["early_stopping"] is None) == (preset["config"]["early_stopping"] is None), preset["id"]


def test_every_lesson_starts_fresh_from_a_fresh_page(page, server_url, presets):
    assert len(presets) >= 10
    seen = watch_socket(page)
    for preset in presets:
        page.goto("about:blank")
        seen["sent"].clear()
        seen["received"].clear()
        open_playground(page, server_url)
        received, sent = len(seen["received"]), len(seen["sent"])
        open_lesson(page, preset["id"])
        assert_fresh(page, seen, received, sent, preset)
    assert page.console_errors == []


def play_a_little(page) -> None:
    page.click("#play")
    try:
        wait_iteration_above(page, 20)
    except Exception as exc:
        raise AssertionError(f"{page.locator('#status').text_content()} {iteration(page)} "
                             f"{page.locator('#banners').text_content()} {page.url}") from exc


def test_a_lesson_opened_after_playing_another_starts_fresh(page, server_url, presets):
    seen = watch_socket(page)
    open_playground(page, server_url)
    page.select_option("#ctl-speed", label="30×")
    by_id = {p["id"]: p for p in presets}
    # the reported case first (dropout right after L2: only keep_prob differs), then every lesson
    # after the one before it in the menu
    ids = [i for i in ("overfitting-l2", "dropout") if i in by_id] + list(by_id)
    open_lesson(page, ids[0])
    for lesson in ids[1:]:
        play_a_little(page)
        received, sent = len(seen["received"]), len(seen["sent"])
        open_lesson(page, lesson)
        assert_fresh(page, seen, received, sent, by_id[lesson])
    # the same lesson again restarts it too
    play_a_little(page)
    received, sent = len(seen["received"]), len(seen["sent"])
    open_lesson(page, ids[-1])
    assert_fresh(page, seen, received, sent, by_id[ids[-1]])
    assert iteration(page) == 0
    assert page.console_errors == []
