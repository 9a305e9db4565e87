"""One cost curve: the browser's curves (static/js/cost-curve.js) and a saved run's history
(server/cost_curve.py) record points by the same rule, so a saved run's history is the curve the
student saw, and loading it gives back the same points and the same smoothing."""
from __future__ import annotations

import math

from server.cost_curve import HISTORY_COLUMNS, CostCurve
from tests.e2e.helpers import TIMEOUT, open_playground, settled_iteration, wait_iteration_above, wait_ready

PAUSED = "document.getElementById('status').dataset.status === 'paused'"


def _header(i: int, cost: float) -> dict:
    """A frame header's figures (a Snapshot's to_dict() has the same keys)."""
    return {"iteration": i, "epoch": i // 10, "learning_rate": 0.1, "minibatch_cost": cost,
            "train": {"cost": cost + 0.01, "data_cost": cost, "reg_cost": 0.01, "accuracy": 0.5},
            "dev": {"cost": cost + 0.02, "data_cost": cost, "reg_cost": 0.02, "accuracy": 0.4}}


def _close(a: list, b: list) -> bool:
    return len(a) == len(b) and all((x is None and y is None) or (x is not None and y is not None
                                                                  and math.isclose(x, y, rel_tol=1e-12))
                                    for x, y in zip(a, b))


def test_the_browser_curve_and_the_saved_history_share_one_rule(page, server_url):
    """The same figures (a gap, repeated iterations, thinning at the cap, a blow-up) give the same
    points in both classes; the browser's curve loaded from the server's rows is the one it drew."""
    headers = [_header(i, 1.0 / (1 + i)) for i in range(0, 30)]
    headers[7:7] = [_header(6, 0.9)]            # a live `set` at iteration 6: its first point stays
    headers += [_header(i, 0.02 + i / 1000) for i in range(33, 50, 3)]  # a gap, then every 3rd
    blow_up = {"diverged_at": 62, "diverged_epoch": 6, "restored_iteration": 60,
               "last_finite_minibatch_cost": 1e6, "last_finite_minibatch_iteration": 61,
               "train_cost": None, "dev_cost": None}
    server = CostCurve(cap=8)
    for h in headers:
        server.add(h)
    server.add(_header(62, 1.0), blow_up)  # a diverged run's snapshot: its blow-up rows instead
    server.add(_header(63, 1.0))           # nothing after the blow-up
    saved = server.as_dict()
    page.goto(f"{server_url}/static/js/cost-curve.js")  # same origin, no app running
    browser = page.evaluate("""async ([headers, blowUp, saved]) => {
        const { CostCurve } = await import('/static/js/cost-curve.js');
        const pick = (c) => ({ iteration: c.iteration, minibatch: c.minibatch, train: c.train_cost, dev: c.dev_cost,
                               ewma: c.minibatch_ewma, stride: c.stride });
        const drawn = new CostCurve(8);
        for (const h of headers) drawn.add(h);
        drawn.diverge(blowUp);
        drawn.add({ ...headers[0], iteration: 63 });
        const loaded = new CostCurve(8);
        loaded.load(saved);
        return { drawn: pick(drawn), loaded: pick(loaded) };
    }""", [headers, blow_up, saved])
    rows = [dict(zip(HISTORY_COLUMNS, r)) for r in saved["rows"]]
    drawn = browser["drawn"]
    assert drawn["iteration"] == [r["iteration"] for r in rows] and drawn["stride"] == server.stride > 1
    assert drawn["minibatch"] == [r["minibatch_cost"] for r in rows]
    assert drawn["train"] == [r["train_cost"] for r in rows] and drawn["dev"] == [r["dev_cost"] for r in rows]
    assert saved["rows"][-1] == [61, 6, 0.1, 1e6] + [None] * 8  # the blow-up: the last finite mini-batch cost
    assert len(rows) < 8  # (so loading does not thin them)
    loaded = browser["loaded"]
    assert loaded["iteration"] == drawn["iteration"] and loaded["minibatch"] == drawn["minibatch"]
    assert _close(loaded["ewma"], drawn["ewma"])  # the smoothing is the points' alone


def test_a_saved_run_keeps_the_points_the_student_saw(page, server_url):
    """Every point of the cost curve drawn while training is a row of the run's saved history,
    and the run loaded again draws exactly its saved rows."""
    open_playground(page, server_url, "dataset=xor&speed=10")
    page.click("#play")
    wait_iteration_above(page, 200)
    page.click("#play")
    page.wait_for_function(PAUSED, timeout=TIMEOUT)
    settled_iteration(page)
    plotted = "() => { const p = document.getElementById('cost-plot'); return { x: Array.from(p.data[0].x), mb: Array.from(p.data[0].y) }; }"
    seen = page.evaluate(plotted)
    page.click("#runs-menu > summary")
    page.fill("#run-name", "curve e2e")
    page.click("#save-run")
    row = page.locator(".run-row", has_text="curve e2e")
    row.wait_for(timeout=TIMEOUT)
    run = page.request.get(f"{server_url}/api/runs/{row.get_attribute('data-run')}/export.json").json()
    history = {r[0]: r for r in run["history"]["rows"]}
    assert run["history"]["columns"] == HISTORY_COLUMNS and len(seen["x"]) > 10
    assert all(x in history and history[x][3] == mb for x, mb in zip(seen["x"], seen["mb"])), seen
    page.click(".dataset-tile[data-name='circle']")  # another run first: its curve starts afresh
    wait_ready(page)
    page.click("#runs-menu > summary")
    page.locator(".run-row", has_text="curve e2e").get_by_role("button", name="Load").click()
    page.wait_for_function(PAUSED, timeout=TIMEOUT)
    page.wait_for_function(f"document.getElementById('cost-plot').data?.[0]?.x?.length === {len(history)}",
                           timeout=TIMEOUT)
    assert page.evaluate(plotted)["x"] == sorted(history)
    assert page.console_errors == []
