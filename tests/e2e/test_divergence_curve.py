"""A run that diverges shows its blow-up: the cost curve reaches the last finite mini-batch cost
at its iteration (the server's `diverged` message), marked "diverged: cost → ∞" with the y axis
kept readable, and the iteration counter shows where it diverged, not the restored iteration."""
from __future__ import annotations

import json

from tests.e2e.helpers import TIMEOUT, iteration, open_playground

# GD at α = 3 on the regression plane, full batch: the cost climbs for a few hundred iterations,
# then overflows (or the weights outgrow a frame's float32).
DIVERGING = "dataset=reg_plane&noise=0.1&hidden=8,8&optimizer=gd&learning_rate=3&batch_size=100000"


def test_the_cost_curve_reaches_the_last_finite_cost_and_the_counter_the_divergence(page, server_url):
    messages = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: messages.append(payload) if isinstance(payload, str) else None))
    page.set_viewport_size({"width": 1280, "height": 800})
    open_playground(page, server_url, DIVERGING)
    page.click("#play")
    page.wait_for_function("document.getElementById('status').dataset.status === 'diverged'", timeout=TIMEOUT)
    page.wait_for_function("document.getElementById('cost-plot').data?.some((t) => t.name === 'diverged')",
                           timeout=TIMEOUT)
    page.wait_for_timeout(300)  # a frame still in flight must not take the blow-up back
    diverged = next(m for m in map(json.loads, messages) if m.get("type") == "diverged")
    at, cost = diverged["last_finite_minibatch_iteration"], diverged["last_finite_minibatch_cost"]
    assert cost > 1e10 and at <= diverged["diverged_at"]

    plot = page.evaluate("""() => { const p = document.getElementById('cost-plot');
        return { data: p.data.map((t) => ({ name: t.name, x: Array.from(t.x), y: Array.from(t.y) })),
                 range: p._fullLayout.yaxis.range }; }""")
    minibatch = next(t for t in plot["data"] if t["name"] == "mini-batch")
    assert minibatch["x"][-1] == at and minibatch["y"][-1] == cost  # the curve shoots up to the blow-up
    healthy = [y for x, y in zip(minibatch["x"], minibatch["y"]) if y is not None and x < at]
    assert healthy, "frames before the blow-up are on the curve"
    # the axis is clipped to a few times the largest cost before the blow-up, not flattened by it
    assert plot["range"][1] <= 3.01 * max(healthy + [y for t in plot["data"][1:4] for x, y in zip(t["x"], t["y"])
                                                     if y is not None and x < at]) < cost
    marker = next(t for t in plot["data"] if t["name"] == "diverged")
    assert marker["x"] == [at]
    assert "cost → ∞" in page.evaluate("document.getElementById('cost-plot').data.at(-1).text[0]")

    assert iteration(page) == diverged["diverged_at"]  # not the restored iteration
    assert page.locator("#iteration").evaluate("(el) => el.parentElement.classList.contains('diverged')")
    assert page.locator(".banner-diverged").first.is_visible()
    page.screenshot(path="/tmp/diverged-curve.png")
    assert not page.console_errors
