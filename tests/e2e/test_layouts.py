"""Layouts that hold (issue #11): at the five sizes a class uses (tests/e2e/layout.py VIEWPORTS),
normal and presenter, nothing on the playground overlaps or is cut off (`layout_problems`):
with 0, 1, 3 and 6 hidden layers of 8 units, the lessons menu open, a lesson's card shown, a
learning-rate decay chosen and after some training; the hyperparameter bar keeps its layout
whatever optimizer, decay, init or early stopping is chosen; a classroom room's teacher page (its
invitation, the run, the class view) and student page (the join form, following) hold too.

One page per viewport (module fixture); a new hash reloads the page (app.js), the rest changes in
place. Screenshots of the main cases go to test-artifacts/layouts/ for a person to look at.
"""
from __future__ import annotations

import pytest

from tests.e2e.classroom import Classroom, status_is
from tests.e2e.helpers import TIMEOUT, wait_iteration_above, wait_ready
from tests.e2e.layout import VIEWPORTS, layout_problems

MODES = ["normal", "presenter"]
LAYERS = {"0 hidden layers": "", "1 hidden layer of 8": "8", "3 hidden layers of 8": "8,8,8",
          "6 hidden layers of 8": "8,8,8,8,8,8"}
SHOT_LAYERS = {"3 hidden layers of 8"}  # screenshots: of these, the menu, the lesson, the trained run, the room


@pytest.fixture(scope="module")
def pages(context):
    """viewport name -> a page of that size, opened once and reused by the module's tests."""
    opened = {}

    def get(viewport: str):
        if viewport not in opened:
            page = context.new_page()
            page.set_viewport_size(dict(zip(("width", "height"), VIEWPORTS[viewport])))
            opened[viewport] = page
        return opened[viewport]

    yield get
    for page in opened.values():
        page.close()


@pytest.fixture(scope="module")
def shots(artifacts):
    folder = artifacts / "layouts"
    folder.mkdir(exist_ok=True)
    return folder


def load(page, server_url: str, hash_: str) -> None:
    """Show the playground for `hash_`: a first visit loads it, a later one changes the hash in
    place (the page reloads itself for a pasted link); waits for the fresh page's first frame."""
    if page.url.startswith(server_url):
        page.evaluate("(h) => { window.__stale = true; location.hash = h; }", hash_)
        page.wait_for_function("!window.__stale && document.getElementById('status') !== null", timeout=TIMEOUT)
    else:
        page.goto(f"{server_url}/#{hash_}")
    wait_ready(page)
    settle(page)


def settle(page) -> None:
    """Two animation frames and a moment: plots resized, thumbnails painted."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_timeout(250)


def report(problems: dict) -> str:
    return "\n".join(f"{case}:\n    " + "\n    ".join(found) for case, found in problems.items())


def check(page, problems: dict, case: str, shots=None) -> None:
    """Collect `case`'s layout problems; a screenshot of it (JPEG: quick at 3840 px) for a person."""
    found = layout_problems(page)
    if found:
        problems[case] = found
    if shots is not None:
        page.screenshot(path=str(shots / f"{case}.jpg"), type="jpeg", quality=80)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_playground_holds_its_layout(pages, server_url, shots, viewport, mode):
    page = pages(viewport)
    presenter = "&presenter=true" if mode == "presenter" else "&presenter=false"
    problems = {}
    for what, hidden in LAYERS.items():
        load(page, server_url, f"dataset=circle&hidden={hidden}{presenter}")
        check(page, problems, f"{viewport}-{mode}-{what.replace(' ', '-')}", shots if what in SHOT_LAYERS else None)
    load(page, server_url, f"dataset=circle&hidden=4,2{presenter}")
    assert page.evaluate("document.documentElement.classList.contains('presenter')") == (mode == "presenter")
    page.click("#lesson-menu summary")
    page.wait_for_selector("[data-lesson='overfitting-l2']", timeout=TIMEOUT)
    check(page, problems, f"{viewport}-{mode}-lessons-menu-open", shots)
    page.click("[data-lesson='overfitting-l2']")
    page.wait_for_selector("#lesson-card .lesson-title", timeout=TIMEOUT)
    wait_ready(page)
    settle(page)
    check(page, problems, f"{viewport}-{mode}-lesson-card", shots)
    page.select_option("#ctl-schedule", label="Inverse time")
    settle(page)
    check(page, problems, f"{viewport}-{mode}-learning-rate-decay")
    page.click("#play")
    wait_iteration_above(page, 300)
    page.click("#play")
    page.wait_for_function("document.getElementById('status').dataset.status === 'paused'", timeout=TIMEOUT)
    settle(page)
    check(page, problems, f"{viewport}-{mode}-after-training", shots)
    assert problems == {}, report(problems)


# every variant of the units of the hyperparameter bar that show or hide controls
VARIANTS = [("optimizer", "GD"), ("optimizer", "Momentum"), ("optimizer", "RMSprop"), ("optimizer", "Adam"),
            ("schedule", "Inverse time"), ("schedule", "Exponential"), ("schedule", "k/√epoch"), ("schedule", "None"),
            ("init", "Random"), ("init", "He"), ("early_stopping", True), ("early_stopping", False)]

BAR = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height].map(Math.round); };
  const units = Object.fromEntries([...document.querySelectorAll('#hyperparams .hp-unit')].map((u) => [u.id, box(u)]));
  const fields = Object.fromEntries([...document.querySelectorAll('#hyperparams .field')]
    .filter((f) => f.offsetParent !== null).map((f) => [f.dataset.key, box(f)]));
  return { units, fields, bar: box(document.getElementById('hyperparams')) };
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_hyperparameter_bar_does_not_reflow(pages, server_url, viewport):
    """Choosing an optimizer, a decay, random init or early stopping shows or hides controls in
    room kept for them: no unit of the bar, and no control shown before and after, moves.
    (Presenter mode hides all of those secondary controls.)"""
    page = pages(viewport)
    load(page, server_url, "dataset=circle&optimizer=adam&presenter=false")
    before = page.evaluate(BAR)
    moved = []
    for key, value in VARIANTS:
        if isinstance(value, bool):
            page.set_checked(f"#ctl-{key}", value)
        else:
            page.select_option(f"#ctl-{key}", label=value)
        page.wait_for_timeout(50)
        now = page.evaluate(BAR)
        if now["units"] != before["units"] or now["bar"] != before["bar"]:
            moved.append(f"{key}={value}: units {before['units']} -> {now['units']}")
        for field, rect in now["fields"].items():
            if field in before["fields"] and before["fields"][field] != rect:
                moved.append(f"{key}={value}: {field} {before['fields'][field]} -> {rect}")
        assert layout_problems(page, "#hyperparams") == [], f"{key}={value}"
    assert moved == [], "\n".join(moved)


# ---------------------------------------------------------------- a classroom room
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_room_holds_its_layout_for_teacher_and_student(browser, server_url, shots, viewport):
    """The teacher's invitation, run and class view, a student's join form and followed run, in
    normal and presenter mode (each person's own toggle), nothing overlapping or cut off."""
    room = Classroom(browser, server_url, "/#dataset=circle", lambda page: status_is(page, "ready"), *VIEWPORTS[viewport])
    problems = {}
    try:
        teacher, student, code = room.teacher, room.page(), room.code
        settle(teacher)
        check(teacher, problems, f"room-{viewport}-teacher-invitation")
        teacher.click("#invite-close")
        student.goto(f"{server_url}/room/{code}")
        student.wait_for_selector("#join-name", timeout=TIMEOUT)
        check(student, problems, f"room-{viewport}-student-join-form")
        student.fill("#join-name", "Gabriela Montoya-Santos")
        student.click("#join-button")
        student.wait_for_selector("#room-follow-text", timeout=TIMEOUT)
        teacher.click("#play")
        wait_iteration_above(student, 100)
        teacher.click("#play")
        for mode in MODES:
            if mode == "presenter":
                teacher.click("#presenter")
                student.click("#presenter")
            settle(teacher)
            settle(student)
            check(teacher, problems, f"room-{viewport}-{mode}-teacher-run", shots)
            check(student, problems, f"room-{viewport}-{mode}-student-following", shots)
            teacher.click("#tab-class")
            teacher.wait_for_selector(".dash-card", timeout=TIMEOUT)
            settle(teacher)
            check(teacher, problems, f"room-{viewport}-{mode}-teacher-class-view")
            teacher.click("#tab-run")
    finally:
        room.close()
    assert problems == {}, report(problems)
