"""Lab rooms in the browser (docs/lab.md "Lab rooms"): the teacher starts a class from /lab, a
student (another browser context) joins by code and follows the teacher's race live, read-only;
the teacher's dashboard lists the student; pause covers the student's page with the message;
fork gives the student a race of their own from the teacher's settings. Screenshots at 1280×800
of the teacher's lab with the class and of the student's follow view (test-artifacts/)."""
from __future__ import annotations

import json

import pytest

from tests.e2e.classroom import Classroom, inert, status_is
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import TIMEOUT, lab_steps as step_count, wait_lab_steps_above as wait_steps_above

LAB = "/lab#surface=quadratic&condition=80&rotation=20&speed=5"


def contours_drawn(page) -> None:
    page.wait_for_selector("#race-plot .contourlayer path", timeout=TIMEOUT)


class LabClass(Classroom):
    def __init__(self, browser, url):
        super().__init__(browser, url, LAB, contours_drawn)
        self.student = None


@pytest.fixture(scope="module")
def klass(browser, server_url):
    ARTIFACTS.mkdir(exist_ok=True)
    c = LabClass(browser, server_url)
    yield c
    c.close()


def test_teacher_starts_a_lab_class_from_the_lab(klass):
    t = klass.teacher
    assert t.text_content("#invite-code") == klass.code
    assert "Optimizer lab" in t.title()
    t.click("#invite-close")
    # the room's race starts from the lab's settings (the link's fragment), the token stays in the URL
    t.wait_for_function("document.getElementById('plot-caption').textContent.includes('κ = 80')", timeout=TIMEOUT)
    assert "#token=" in t.url
    assert t.get_attribute("#mode-follow", "aria-pressed") == "true"
    assert t.text_content("#tab-run") == "My race"


def test_a_student_joins_by_code_and_follows_the_teachers_race(klass):
    t = klass.teacher
    s = klass.student = klass.page()
    s.goto(f"{klass.url}/room/{klass.code.lower()}")
    s.fill("#join-name", "Ada")
    s.click("#join-button")
    s.wait_for_selector("#room-follow-text", timeout=TIMEOUT)
    assert s.text_content("#room-follow-text") == "Following the teacher"
    s.wait_for_function("document.getElementById('plot-caption').textContent.includes('κ = 80')", timeout=TIMEOUT)
    assert s.is_visible("#fork")
    assert inert(s, "#play") and inert(s, "#surface-rosenbrock")
    t.click("#play")
    status_is(t, "running")
    wait_steps_above(s, 60)  # the teacher's race, live
    status_is(s, "running")
    s.keyboard.press(" ")  # space does not drive the teacher's race
    # the teacher changes the surface: the follower's settings and plot follow
    t.click("#surface-rosenbrock")
    s.wait_for_function("document.getElementById('plot-caption').textContent.includes('100 (w₂')", timeout=TIMEOUT)
    s.wait_for_function("document.getElementById('surface-rosenbrock').getAttribute('aria-checked') === 'true'", timeout=TIMEOUT)
    wait_steps_above(s, 40)
    t.click("#play")
    status_is(t, "paused")
    t.wait_for_timeout(400)
    s.wait_for_function(f"document.getElementById('step-count').textContent === {json.dumps(t.text_content('#step-count'))}", timeout=TIMEOUT)
    s.wait_for_function(f"document.getElementById('race-plot').dataset.points === {json.dumps(t.get_attribute('#race-plot', 'data-points'))}",
                        timeout=TIMEOUT)  # every point of every path, as the teacher sees them
    status_is(s, "paused")
    s.evaluate("window.scrollTo(0, 0)")  # space scrolled the page (it drives nothing while following)
    s.screenshot(path=str(ARTIFACTS / "lab-room-student-follow-1280x800.png"))


def test_the_teacher_sees_the_student_on_the_dashboard(klass):
    t = klass.teacher
    t.click("#tab-class")
    t.wait_for_function("document.querySelectorAll('.dash-card').length === 1", timeout=TIMEOUT)
    assert t.text_content(".dash-name") == "Ada"
    t.wait_for_function("document.querySelector('.dash-status').textContent === 'Following'", timeout=TIMEOUT)
    t.click("#tab-run")


def test_pause_covers_the_students_page_with_the_message(klass):
    t, s = klass.teacher, klass.student
    t.fill("#pause-text", "Eyes on the projector, please")
    t.click("#mode-paused")
    s.wait_for_selector("#pause-message", timeout=TIMEOUT)
    assert s.text_content("#pause-message") == "Eyes on the projector, please"
    assert inert(s, "#lab-main") and inert(s, "#room-bar")
    t.click("#mode-follow")
    s.wait_for_selector("#room-overlay", state="hidden", timeout=TIMEOUT)
    assert s.text_content("#room-follow-text") == "Following the teacher"


def test_fork_gives_the_student_a_race_with_the_teachers_settings(klass):
    t, s = klass.teacher, klass.student
    t.fill("#opt-o1-lr-text", "0.0015")  # a live change is part of the settings taken
    t.press("#opt-o1-lr-text", "Enter")
    s.wait_for_function("document.querySelector('#results tr[data-id=\"o1\"] td').textContent === '0.0015'", timeout=TIMEOUT)
    teacher_steps = step_count(t)
    s.click("#fork")
    s.wait_for_function("document.getElementById('room-bar').dataset.mode === 'own'", timeout=TIMEOUT)
    assert "forked" in s.text_content("#room-follow-text")
    status_is(s, "ready")
    assert step_count(s) == 0 and not inert(s, "#play") and not inert(s, "#surface-quadratic")
    assert s.input_value("#opt-o1-lr-text") == "0.0015"
    assert "100 (w₂" in s.text_content("#plot-caption")
    s.click("#play")
    wait_steps_above(s, 50)
    assert step_count(t) == teacher_steps  # the teacher's race did not move
    # the dashboard sums the student's race up: each optimizer's steps and cost
    t.click("#tab-class")
    t.wait_for_function("document.querySelectorAll('.dash-card .dash-racer').length === 4", timeout=TIMEOUT)
    t.wait_for_function("document.querySelector('.dash-status').textContent === 'Racing'", timeout=TIMEOUT)
    t.screenshot(path=str(ARTIFACTS / "lab-room-teacher-dashboard-1280x800.png"))
    t.click("#tab-run")
    t.wait_for_timeout(300)
    t.screenshot(path=str(ARTIFACTS / "lab-room-teacher-1280x800.png"))
    for errors in klass.errors:
        assert not errors, errors
