"""The network panel holds its layout with 0, 3 and 6 hidden layers of 8 units at every viewport a
class uses, normal and presenter: no heading, button or neuron overlapping another or cut off
(tests/e2e/layout.py), and thumbnails sized from the panel's width as well as its height."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import TIMEOUT
from tests.e2e.layout import VIEWPORTS, layout_problems

PAINTED = ("document.getElementById('status')?.dataset.status === 'ready'"
           " && document.getElementById('boundary-canvas')?.dataset.shows?.startsWith('boundary')")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_network_panel_has_no_overlaps(page, server_url, viewport):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server_url}/#hidden=8")
    page.wait_for_function(PAINTED, timeout=TIMEOUT)
    for presenter in (False, True):
        for layers in (0, 3, 6):
            hash_ = f"hidden={','.join(['8'] * layers)}" + ("&presenter=true" if presenter else "")
            page.evaluate("(h) => { location.hash = h; }", hash_)  # the page starts over from a changed link
            page.wait_for_function(f"document.querySelectorAll('.layer-col').length === {layers}"
                                   f" && document.documentElement.classList.contains('presenter') === {str(presenter).lower()}"
                                   f" && {PAINTED}", timeout=TIMEOUT)
            page.wait_for_timeout(150)  # the links follow the nodes on the next animation frame
            where = f"{viewport} {'presenter' if presenter else 'normal'} {layers}×8"
            problems = layout_problems(page, ".col-network")
            assert problems == [], f"{where}: {problems[:5]}"
            sizes = page.evaluate("""() => {
                const nodes = [...document.querySelectorAll('.node.neuron')].map((n) => n.getBoundingClientRect());
                return { n: nodes.length, smallest: Math.min(...nodes.map((r) => r.width), 1e9),
                         links: document.querySelector('canvas.links').nnLinks.length };
            }""")
            assert sizes["n"] == 8 * layers, where
            if layers:
                assert sizes["smallest"] >= 14, (where, sizes)  # a thumbnail one can read
                assert sizes["links"] == 2 * 8 + (layers - 1) * 64 + 8, (where, sizes)  # no link lost
    assert page.console_errors == []
