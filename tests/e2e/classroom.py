"""A class in one Chromium for the room browser tests (playground and lab): a teacher page that
starts a class from `start_path`, and pages for students, each in its own browser context."""
from __future__ import annotations

import json
from typing import Callable

from tests.e2e.helpers import TIMEOUT


def status_is(page, value: str) -> None:
    page.wait_for_function(f"document.getElementById('status').dataset.status === '{value}'", timeout=TIMEOUT)


def inert(page, selector: str) -> bool:
    return page.evaluate(f"Boolean(document.querySelector({json.dumps(selector)}).closest('[inert]'))")


def watch_errors(page) -> list:
    """The page's console errors and uncaught exceptions, as they come."""
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


class Classroom:
    """The teacher opens `start_path`, waits for `drawn` (the page's first picture), presses
    "Start a class" and lands on the room page with its invitation open; `code` is the room's."""

    def __init__(self, browser, server_url: str, start_path: str, drawn: Callable,
                 width: int = 1280, height: int = 800):
        self.browser, self.url, self.size = browser, server_url, (width, height)
        self.contexts, self.errors = [], []
        self.teacher = self.page()
        self.teacher.goto(server_url + start_path)
        drawn(self.teacher)
        self.teacher.click("#start-class")
        self.teacher.wait_for_url("**/room/*", timeout=TIMEOUT)
        self.code = self.teacher.url.split("/room/")[1].split("#")[0]
        self.teacher.wait_for_selector("#invite[open]", timeout=TIMEOUT)
        drawn(self.teacher)

    def page(self, width: int | None = None, height: int | None = None):
        """A page in a context of its own, the class's size unless told."""
        context = self.browser.new_context(viewport={"width": width or self.size[0], "height": height or self.size[1]})
        self.contexts.append(context)
        page = context.new_page()
        self.errors.append(watch_errors(page))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
