"""Classroom rooms in the browser: a teacher page and student pages (separate browser contexts,
as separate people) in one Chromium, over the real server. The tests run in order on one class:
join by code with names, follow, own mode, spotlight, fork, pause, anonymize, a name that is
markup, the teacher's reload, closing; then a class of 30 (websocket students) for screenshots."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest

from tests.e2e.classroom import Classroom, inert, status_is
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import TIMEOUT, boundary_sample, iteration, selected_label, settled_iteration, wait_iteration_above

XSS_NAME = "<img src=x onerror=window.__pwned=1>"


def boundary_drawn(page) -> None:
    page.wait_for_function("document.getElementById('boundary')?.data?.[0]?.type === 'heatmap'", timeout=TIMEOUT)


class Class(Classroom):
    """A teacher page and two student pages, each in its own browser context."""

    def __init__(self, browser, server_url):
        super().__init__(browser, server_url, "/#dataset=circle&speed=10", boundary_drawn)
        self.students = {}

    def join(self, name: str | None):
        page = self.page()
        page.goto(f"{self.url}/room/{self.code.lower()}")  # the code is case-insensitive
        page.fill("#join-name", name or "")
        page.click("#join-button")
        page.wait_for_selector("#room-follow-text", timeout=TIMEOUT)
        return page


@pytest.fixture(scope="module")
def klass(browser, server_url):
    ARTIFACTS.mkdir(exist_ok=True)
    c = Class(browser, server_url)
    yield c
    c.close()


def test_teacher_starts_a_class_with_code_link_and_qr(klass):
    t = klass.teacher
    assert len(klass.code) == 6 and klass.code.isalnum() and klass.code.upper() == klass.code
    assert t.text_content("#invite-code") == klass.code
    assert t.input_value("#invite-student-url").endswith(f"/room/{klass.code}")
    assert "#token=" in t.input_value("#invite-teacher-url")
    assert not t.is_visible("#invite-teacher-url")  # the secret is folded away from the projector
    assert t.evaluate("document.getElementById('invite-qr').naturalWidth") > 0  # the QR SVG loaded
    t.screenshot(path=str(ARTIFACTS / "room-invite-1280x800.png"))
    t.click("#invite-close")
    assert t.text_content("#room-code") == klass.code
    assert t.get_attribute("#mode-follow", "aria-pressed") == "true"


def test_students_join_by_code_and_follow_the_teacher(klass):
    t = klass.teacher
    ada = klass.students["ada"] = klass.join("Ada")
    bob = klass.students["bob"] = klass.join(XSS_NAME)
    # the teacher opens a lesson: the followers get its data, network and lesson text
    t.click("#lesson-menu summary")
    t.click("[data-lesson='overfitting-l2']")
    t.wait_for_selector("#lesson-card .lesson-title", timeout=TIMEOUT)
    title = t.text_content("#lesson-card .lesson-title")
    for s in (ada, bob):
        s.wait_for_selector("#lesson-card .lesson-title", timeout=TIMEOUT)
        assert s.text_content("#lesson-card .lesson-title") == title
        s.wait_for_function("document.querySelector('.dataset-tile[aria-checked=true]')?.textContent.includes('Moons')", timeout=TIMEOUT)
    status_is(t, "ready")
    t.click("#play")
    status_is(t, "running")
    for s in (ada, bob):
        assert "Following the teacher" in s.text_content("#room-follow-text")
        wait_iteration_above(s, 60)  # the teacher's iteration, live
        assert s.is_visible("#fork")
        assert inert(s, "#play") and inert(s, "#ctl-learning_rate") and inert(s, ".dataset-tile")
        s.keyboard.press(" ")  # space does not drive someone else's run
    assert bob.text_content("#room-who") == f"You: {XSS_NAME}"
    # the teacher changes a live setting: the followers' controls show it
    t.select_option("#ctl-learning_rate", label="0.03")
    ada.wait_for_function("document.getElementById('lr').textContent === '0.03'", timeout=TIMEOUT)
    assert selected_label(ada, "learning_rate") == "0.03"
    t.click("#play")
    status_is(t, "paused")
    stopped = settled_iteration(t)  # the pause's last frame follows its state
    for s in (ada, bob):
        s.wait_for_function(f"document.getElementById('iteration').textContent === {json.dumps(t.text_content('#iteration'))}", timeout=TIMEOUT)
        s.wait_for_timeout(300)
        assert iteration(s) == stopped
        assert boundary_sample(s) == boundary_sample(t)  # the same boundary
        status_is(s, "paused")
    ada.screenshot(path=str(ARTIFACTS / "room-student-follow-1280x800.png"))


def test_a_name_with_markup_is_text_everywhere(klass):
    t = klass.teacher
    t.click("#tab-class")
    t.wait_for_function("document.querySelectorAll('.dash-card').length === 2", timeout=TIMEOUT)
    names = t.eval_on_selector_all(".dash-name", "(els) => els.map((e) => e.textContent)")
    assert names == ["Ada", XSS_NAME]
    assert t.locator("#dashboard img").count() == 0
    for page in [t, *klass.students.values()]:
        assert page.evaluate("window.__pwned") is None


def test_own_mode_lets_students_train_and_the_dashboard_shows_it(klass):
    t, ada, bob = klass.teacher, klass.students["ada"], klass.students["bob"]
    t.click("#mode-own")
    for s in (ada, bob):
        s.wait_for_function("document.getElementById('room-bar').dataset.mode === 'own'", timeout=TIMEOUT)
        assert not inert(s, "#play") and not s.is_visible("#fork")
        status_is(s, "ready")  # a run of their own, from the settings they were shown
    assert ada.text_content("#iteration") == "000,000"
    ada.click("#play")
    wait_iteration_above(ada, 40)
    ada.click("#play")
    status_is(ada, "paused")
    ada.wait_for_timeout(500)  # a frame trained before the pause may still arrive
    klass.ada_iteration = iteration(ada)
    assert iteration(t) != klass.ada_iteration  # the teacher's run is untouched
    card = '.dash-card[data-student-id]'
    t.wait_for_function(f"[...document.querySelectorAll('{card}')].some((c) => c.dataset.status === 'paused' && !c.classList.contains('no-run'))",
                        timeout=TIMEOUT)  # Ada's status and boundary thumbnail
    t.wait_for_function("[...document.querySelectorAll('.dash-card')][0].querySelector('.dash-value').textContent !== '–'", timeout=TIMEOUT)


def test_spotlight_switches_followers_to_that_students_run(klass):
    t, ada, bob = klass.teacher, klass.students["ada"], klass.students["bob"]
    t.click("#mode-follow")
    bob.wait_for_function("document.getElementById('room-bar').dataset.mode === 'follow'", timeout=TIMEOUT)
    ada_iteration = klass.ada_iteration
    t.click(".dash-card >> nth=0")  # Ada's card
    t.wait_for_function("document.querySelector('.dash-card').getAttribute('aria-pressed') === 'true'", timeout=TIMEOUT)
    assert t.text_content("#dash-spot-text") == "Spotlight: Ada"
    bob.wait_for_function("document.getElementById('room-follow-text').textContent.includes('Ada')", timeout=TIMEOUT)
    bob.wait_for_function(f"Number(document.getElementById('iteration').textContent.replace(/,/g, '')) === {ada_iteration}", timeout=TIMEOUT)
    assert "your run" in ada.text_content("#room-follow-text")
    t.click("#dash-clear-spotlight")
    bob.wait_for_function("document.getElementById('room-follow-text').textContent === 'Following the teacher'", timeout=TIMEOUT)
    bob.wait_for_function(f"document.getElementById('iteration').textContent === {json.dumps(t.text_content('#iteration'))}", timeout=TIMEOUT)
    assert t.is_hidden("#dash-spot")


def test_fork_copies_the_teachers_run_and_trains_on(klass):
    t, bob = klass.teacher, klass.students["bob"]
    at = iteration(t)
    bob.click("#fork")
    bob.wait_for_function("document.getElementById('room-bar').dataset.mode === 'own'", timeout=TIMEOUT)
    assert "forked" in bob.text_content("#room-follow-text")
    status_is(bob, "paused")
    assert iteration(bob) == at  # the teacher's iteration, weights and optimizer state
    assert not inert(bob, "#play")
    bob.click("#play")
    wait_iteration_above(bob, at + 30)
    bob.click("#play")
    status_is(bob, "paused")
    assert iteration(t) == at  # the teacher's run did not move
    # "Push my settings": every own run starts over from the teacher's settings
    t.click("#push")
    t.wait_for_selector("#banner-room", timeout=TIMEOUT)
    assert "pushed" in t.text_content("#banner-room")
    status_is(bob, "ready")
    assert bob.text_content("#iteration") == "000,000"


def test_pause_covers_every_page_with_the_teachers_message(klass):
    t, ada, bob = klass.teacher, klass.students["ada"], klass.students["bob"]
    t.fill("#pause-text", "Eyes on the projector, please")
    t.click("#mode-paused")
    for s in (ada, bob):
        s.wait_for_selector("#pause-message", timeout=TIMEOUT)
        assert s.text_content("#pause-message") == "Eyes on the projector, please"
        assert s.is_visible("#room-overlay")
        assert inert(s, "#play") and inert(s, "#ctl-learning_rate") and inert(s, "#room-bar")
        before = s.text_content("#iteration")
        s.keyboard.press(" ")
        s.wait_for_timeout(400)
        assert s.text_content("#iteration") == before
    bob.screenshot(path=str(ARTIFACTS / "room-student-paused-1280x800.png"))
    t.click("#mode-follow")
    for s in (ada, bob):
        s.wait_for_selector("#room-overlay", state="hidden", timeout=TIMEOUT)
        assert "Following" in s.text_content("#room-follow-text")


def test_anonymize_hides_names_on_the_dashboard(klass):
    t = klass.teacher
    t.check("#dash-anonymize")
    names = t.eval_on_selector_all(".dash-name", "(els) => els.map((e) => e.textContent)")
    assert all(n.startswith("Student ") for n in names), names
    assert "Ada" not in t.text_content("#dashboard")
    t.uncheck("#dash-anonymize")
    assert "Ada" in t.text_content("#dashboard")


def test_teacher_reload_reconnects_to_the_same_room_and_run(klass):
    t, ada = klass.teacher, klass.students["ada"]
    t.click("#tab-run")
    at = iteration(t)
    lr = t.text_content("#lr")
    t.reload()
    boundary_drawn(t)
    status_is(t, "paused")
    t.wait_for_function(f"Number(document.getElementById('iteration').textContent.replace(/,/g, '')) === {at}",
                        timeout=TIMEOUT)  # the same run, not a fresh one (its last frame replayed)
    assert t.text_content("#lr") == lr
    assert t.text_content("#room-code") == klass.code
    assert not t.is_visible("#invite")  # the invitation opens only for a new room
    t.click("#tab-class")
    t.wait_for_function("document.querySelectorAll('.dash-card').length === 2", timeout=TIMEOUT)
    t.click("#tab-run")
    t.click("#play")
    wait_iteration_above(ada, at + 30)  # students stayed and follow the reconnected teacher
    t.click("#play")
    status_is(t, "paused")


def test_closing_the_room_ends_the_class_for_everyone(klass):
    t, ada = klass.teacher, klass.students["ada"]
    t.once("dialog", lambda d: d.accept())
    t.click("#close-room")
    ada.wait_for_selector(".overlay-ended", timeout=TIMEOUT)
    assert "ended" in ada.text_content(".overlay-ended h2")
    t.wait_for_selector(".overlay-ended", timeout=TIMEOUT)
    for errors in klass.errors:
        assert [e for e in errors if "WebSocket" not in e] == []


# ---------------------------------------------------------------------- a class of 30, screenshots
NAMES = ["Amara", "Ben", "Chloé", "Dmitri", "Esther", "Farid", "Gabriela Montoya-Santos", "Hiro", "Ines", "Jamal",
         "Kofi", "Lena", "Mateo", "Nadia", "Olu", "Priya", "Quentin", "Rosa", "Sven", "Tariq", None, "Ursula",
         "Vikram", "Wen", "Xavier", "Yusuf", "Zoë", "Aiko", "Bruno", "Carmen"]
DIVERGE = {"data": {"name": "reg_plane", "noise": 0.1}, "network": {"hidden": [8, 8]},
           "optimizer": {"name": "gd", "learning_rate": 3}, "batch_size": 100000, "epochs": 100000}


class Bots:
    """Students over websockets (asyncio, in a thread): every one joins; `own` of them fork the
    teacher's run and train slowly (4 frames/s), one on a config that diverges."""

    def __init__(self, ws_url: str, names, own: int):
        self.ws_url, self.names, self.own = ws_url, names, own
        self.loop = asyncio.new_event_loop()
        self.joined = threading.Event()
        self.stop = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)
        self.thread.start()

    async def main(self):
        import websockets

        self.stop = asyncio.Event()
        count = 0

        async def student(i, name):
            nonlocal count
            async with websockets.connect(self.ws_url, max_size=None) as ws:
                await ws.send(json.dumps({"type": "join", "role": "student", **({"name": name} if name else {})}))
                joined = False
                while not self.stop.is_set():
                    try:
                        data = await asyncio.wait_for(ws.recv(), 0.5)
                    except asyncio.TimeoutError:
                        continue
                    if isinstance(data, bytes):
                        await ws.send('{"type": "ready"}')
                        continue
                    message = json.loads(data)
                    if message["type"] == "joined" and not joined:
                        joined = True
                        count += 1
                        if count == len(self.names):
                            self.joined.set()
                        if i < self.own:
                            await ws.send('{"type": "fork"}')
                    elif message["type"] == "mode" and message.get("forked"):
                        await ws.send(json.dumps({"type": "speed", "steps_per_frame": 5 + i, "fps": 4}))
                        if i == 3:
                            await ws.send(json.dumps({"type": "configure", "config": DIVERGE}))
                        await ws.send('{"type": "play"}')
                    elif message["type"] == "state" and i == 3 and message["status"] == "ready":
                        await ws.send('{"type": "play"}')

        await asyncio.gather(*(student(i, n) for i, n in enumerate(self.names)), return_exceptions=True)

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=10)


def test_dashboard_with_a_class_of_30(browser, server_url, artifacts):
    c = Class(browser, server_url)
    bots = None
    try:
        t = c.teacher
        t.click("#invite-close")
        t.click("#play")
        wait_iteration_above(t, 200)
        t.click("#play")
        status_is(t, "paused")
        bots = Bots(f"{server_url.replace('http', 'ws')}/ws/room/{c.code}", NAMES, own=14)
        assert bots.joined.wait(30)
        follower = c.join("Dana")  # a student page, following
        t.click("#tab-class")
        t.wait_for_function("document.querySelectorAll('.dash-card').length === 31", timeout=TIMEOUT)
        t.wait_for_function("document.querySelectorAll('.dash-card:not(.no-run)').length >= 14"
                            " && document.querySelector('.dash-card[data-status=diverged]') !== null", timeout=30_000)
        t.select_option("#dash-sort", "dev")
        t.wait_for_timeout(1200)
        t.screenshot(path=str(artifacts / "room-dashboard-30-1280x800.png"))
        t.set_viewport_size({"width": 1920, "height": 1080})
        t.wait_for_timeout(800)
        t.screenshot(path=str(artifacts / "room-dashboard-30-1920x1080.png"))
        t.check("#dash-anonymize")
        t.click(".dash-card:not(.no-run) >> nth=0")  # spotlight the leader
        follower.wait_for_function("document.getElementById('room-follow-text').textContent.includes('spotlight')", timeout=TIMEOUT)
        t.wait_for_timeout(800)
        t.screenshot(path=str(artifacts / "room-dashboard-30-anonymized-1920x1080.png"))
        follower.wait_for_timeout(800)
        follower.screenshot(path=str(artifacts / "room-student-spotlight-1280x800.png"))
        t.set_viewport_size({"width": 1280, "height": 800})
        t.click("#tab-run")
        t.wait_for_timeout(600)
        t.screenshot(path=str(artifacts / "room-teacher-run-1280x800.png"))
        for errors in c.errors:
            assert [e for e in errors if "WebSocket" not in e] == []
    finally:
        if bots:
            bots.close()
        c.close()
