"""The optimizer lab's layout holds (tests/e2e/layout.py: nothing overlapping, cut off or scrolling
sideways) at the sizes a class uses, normal and in presenter mode, with 4 and 6 optimizers and on a
mini-batch surface (its key under the plot), and every plot drawn inside its own box. One page per viewport; each setting is loaded by
changing the hash in place (the lab follows it). Screenshots of the first screen at 1280×800 and
1920×1080, normal and presenter, go to test-artifacts/ (look at them)."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import TIMEOUT
from tests.e2e.layout import VIEWPORTS, layout_problems

FOUR = "&opt=gd,lr:0.035&opt=momentum,lr:0.035,b:0.9&opt=rmsprop,lr:0.05,b2:0.999,eps:1e-8&opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1"
SIX = FOUR + "&opt=nesterov,lr:0.035,b:0.9&opt=adam,lr:0.3,b1:0.9,b2:0.999,eps:1e-8,bc:1"
SETTINGS = {  # name -> (hash, racers, a text of the plot caption)
    "4 optimizers": ("surface=quadratic&condition=50&rotation=30&speed=20" + FOUR, 4, "κ = 50"),
    "6 optimizers": ("surface=quadratic&condition=200&rotation=30&speed=20" + SIX, 6, "κ = 200"),
    "mini-batch": ("surface=logistic&normalized=0&batch=32&speed=20" + FOUR, 4, "batch 32"),
}


OUTSIDE_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((el) => {
        const box = el.getBoundingClientRect();
        const svg = el.querySelector('.main-svg');
        if (!svg || box.width < 2) return [];
        const r = svg.getBoundingClientRect();
        const out = r.left < box.left - 2 || r.top < box.top - 2 || r.right > box.right + 2 || r.bottom > box.bottom + 2;
        return out ? [`#${el.id} is drawn at ${Math.round(r.left)}..${Math.round(r.right)} x ${Math.round(r.top)}..${Math.round(r.bottom)}`
            + ` in its box ${Math.round(box.left)}..${Math.round(box.right)} x ${Math.round(box.top)}..${Math.round(box.bottom)}`] : [];
    })"""


def plots_outside_their_boxes(page) -> list:
    """Plotly plots drawn beyond their own box (layout_problems counts a plot as one box: a plot
    whose size lags behind its box, e.g. after presenter mode changed the columns, runs over its
    neighbours unseen by it)."""
    return page.evaluate(OUTSIDE_JS)


def settle(page, racers: int, caption: str, presenter: bool) -> None:
    """Wait until the lab shows this setting: its racers, its caption, the mode, a frame drawn."""
    page.wait_for_function(
        """([n, caption, presenter]) => document.querySelectorAll('#results tbody tr').length === n
            && document.getElementById('plot-caption').textContent.includes(caption)
            && document.documentElement.classList.contains('presenter') === presenter
            && Object.keys(JSON.parse(document.getElementById('race-plot').dataset.points || '{}')).length === n""",
        arg=[racers, caption, presenter], timeout=TIMEOUT)
    page.wait_for_timeout(350)  # the plots follow their boxes within an animation frame or two
    try:  # a loaded machine may take longer; a plot that never fits is reported below
        page.wait_for_function(f"({OUTSIDE_JS})().length === 0", timeout=5000)
    except Exception:  # noqa: BLE001 (playwright's TimeoutError)
        pass


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_lab_layout_holds(page, server_url, artifacts, viewport):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    first, racers, caption = SETTINGS["4 optimizers"]
    page.goto(f"{server_url}/lab#{first}")
    settle(page, racers, caption, False)
    found = {}
    for presenter in (False, True):
        for name, (hash_, racers, caption) in SETTINGS.items():
            page.evaluate("(h) => { location.hash = h; }", hash_ + ("&presenter=1" if presenter else ""))
            settle(page, racers, caption, presenter)
            page.evaluate("window.scrollTo(0, 0)")
            problems = layout_problems(page) + plots_outside_their_boxes(page)
            if problems:
                found[f"{viewport} {'presenter' if presenter else 'normal'} {name}"] = problems
            if name == "4 optimizers" and viewport in ("1280x800", "1920x1080"):
                page.screenshot(path=str(artifacts / f"lab-layout-{viewport}-{'presenter' if presenter else 'normal'}.png"))
    assert found == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
    assert page.console_errors == []
