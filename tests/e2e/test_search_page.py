"""The Search page (/search, issue #14) in Chromium: from the playground's Search link to a tiny
sweep whose scatters, parallel coordinates and table fill in; a trial opens in the playground with
its config in the URL; a brushed range zooms in (a narrower sweep); Cancel; the layout holds at
1280×800 and 1920×1080, normal and presenter (screenshots in test-artifacts/: look at them)."""
from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.helpers import TIMEOUT, wait_ready
from tests.e2e.layout import layout_problems
from tests.e2e.test_lab_layout import OUTSIDE_JS, plots_outside_their_boxes

SWEEP_TIMEOUT = 90_000  # ms: a few tiny trials, on a loaded machine
EXPERIMENT = "dataset=moons&n=100&hidden=4&optimizer=adam&epochs=1000"


def open_search(page, server_url, hash_=EXPERIMENT):
    page.goto(f"{server_url}/search#{hash_}")
    page.wait_for_function("window.nnSearch && document.documentElement.dataset.sweep === 'idle'", timeout=TIMEOUT)


def run_sweep(page, trials: int, epochs: int = 10) -> None:
    page.fill("#trials", str(trials))
    page.fill("#epochs", str(epochs))
    page.click("#start")
    page.wait_for_function(
        f"""document.documentElement.dataset.sweep === 'idle'
            && document.querySelectorAll('#trials-table tbody tr[data-trial]').length === {trials}""",
        timeout=SWEEP_TIMEOUT)


def test_the_playgrounds_search_link_carries_the_experiment(page, server_url):
    page.goto(f"{server_url}/#{EXPERIMENT}")
    wait_ready(page)
    page.click("#search-link")
    page.wait_for_url("**/search#*", timeout=TIMEOUT)
    fragment = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).fragment))
    assert fragment["dataset"] == "moons" and fragment["n"] == "100" and fragment["hidden"] == "4"
    page.wait_for_function("document.getElementById('base-summary').textContent.includes('moons, 100 points')",
                           timeout=TIMEOUT)
    # β (momentum) does not apply to Adam; a second hidden layer does not exist
    assert page.is_disabled("#sp-optimizer-beta") and page.is_disabled("#sp-network-hidden-1")
    assert page.is_enabled("#sp-optimizer-beta1")


def test_a_sweep_fills_the_plots_and_the_table_and_a_trial_opens_in_the_playground(page, server_url, context):
    open_search(page, server_url)
    page.check("#sp-regularization-l2")
    page.check("#sp-network-hidden-0")
    run_sweep(page, trials=8)
    assert page.text_content("#done-count") == "8 / 8"
    assert page.get_attribute("#status", "data-status") == "done"
    assert "Search finished" in page.text_content("#banners")
    # a scatter per sampled hyperparameter, log axes where sampled on a log scale
    scatter = page.evaluate("""() => ['optimizer-learning_rate', 'regularization-l2', 'network-hidden-0'].map((id) => {
        const el = document.getElementById('scatter-' + id);
        return {type: el.layout.xaxis.type, points: el.data[0].x.length + el.data[1].x.length};
    })""")
    assert scatter == [{"type": "log", "points": 8}, {"type": "log", "points": 8}, {"type": "linear", "points": 8}]
    dims = page.evaluate("document.getElementById('parcoords').data[0].dimensions.map((d) => [d.label, d.values.length])")
    assert dims == [["Learning rate α", 8], ["L2 λ", 8], ["Units in layer 1", 8], ["dev accuracy", 8]]
    # the table: best first, by the metric
    accuracy = page.evaluate("""() => [...document.querySelectorAll('#trials-table tbody tr')]
        .filter((tr) => tr.dataset.status !== 'diverged').map((tr) => parseFloat(tr.children[1].textContent))""")
    assert accuracy == sorted(accuracy, reverse=True)
    page.click("#trials-table thead th:nth-child(2) button")  # the other way round
    accuracy = page.evaluate("""() => [...document.querySelectorAll('#trials-table tbody tr')]
        .filter((tr) => tr.dataset.status !== 'diverged').map((tr) => parseFloat(tr.children[1].textContent))""")
    assert accuracy == sorted(accuracy)

    # a trial opens in the playground with its config in the URL
    trial = page.evaluate("window.nnSearch.trials.find((t) => t.trial === 3)")
    with context.expect_page() as opened:
        page.click("#trials-table tbody tr[data-trial='3'] td:nth-child(2)")
    playground = opened.value
    playground.wait_for_load_state()
    fragment = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(playground.url).fragment))
    assert float(fragment["learning_rate"]) == pytest.approx(trial["params"]["optimizer.learning_rate"], rel=1e-12)
    assert float(fragment["l2"]) == pytest.approx(trial["params"]["regularization.l2"], rel=1e-12)
    assert fragment["hidden"] == str(trial["params"]["network.hidden.0"])
    assert fragment["epochs"] == "10" and fragment["dataset"] == "moons" and fragment["n"] == "100"
    assert int(fragment["seed"]) == page.evaluate("window.nnSearch.sweep.seed") * 10_000 + 3  # the trial's own seed
    wait_ready(playground)
    assert playground.input_value("#ctl-learning_rate") != ""
    playground.close()
    assert page.console_errors == []


def test_zoom_in_narrows_the_ranges_to_the_brush(page, server_url):
    open_search(page, server_url)
    run_sweep(page, trials=6)
    assert page.is_disabled("#zoom-in")
    # drag along the α axis of the parallel coordinates, from 20 % to 50 % of its height
    x, y, w, h = page.evaluate("""(() => { const r = document.querySelector('#parcoords .axis-brush .background')
        .getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()""")
    page.mouse.move(x + w / 2, y + 0.2 * h)
    page.mouse.down()
    page.mouse.move(x + w / 2 + 1, y + 0.5 * h, steps=8)
    page.mouse.up()
    page.wait_for_function("!document.getElementById('zoom-in').disabled", timeout=TIMEOUT)
    brush = page.evaluate("document.getElementById('parcoords').data[0].dimensions[0].constraintrange")
    brush = brush[0] if isinstance(brush[0], list) else brush  # log10 α
    page.click("#zoom-in")  # starts the narrower sweep at once (the page leaves 'idle' in the click)
    assert page.evaluate("document.documentElement.dataset.sweep") != "idle"
    page.wait_for_function("document.documentElement.dataset.sweep === 'idle'", timeout=SWEEP_TIMEOUT)
    lo, hi = page.evaluate("window.nnSearch.sweep.space['optimizer.learning_rate'].log_uniform")
    assert lo == pytest.approx(10 ** min(brush), rel=5e-3) and hi == pytest.approx(10 ** max(brush), rel=5e-3)
    assert float(page.input_value("#sp-optimizer-learning_rate-lo")) == lo
    assert float(page.input_value("#sp-optimizer-learning_rate-hi")) == hi
    alphas = page.evaluate("window.nnSearch.trials.map((t) => t.params['optimizer.learning_rate'])")
    assert len(alphas) == 6 and all(lo <= a <= hi for a in alphas)


def test_diverged_trials_are_shown_as_diverged(page, server_url):
    open_search(page, server_url, "dataset=reg_plane&n=200&hidden=8,8&batch_size=32&optimizer=gd")
    page.select_option("#metric", "dev.cost")
    page.fill("#sp-optimizer-learning_rate-lo", "0.001")
    page.fill("#sp-optimizer-learning_rate-hi", "50")
    page.fill("#seed", "1")
    run_sweep(page, trials=8, epochs=40)
    statuses = page.evaluate("[...document.querySelectorAll('#trials-table tbody tr')].map((tr) => tr.dataset.status)")
    diverged = statuses.count("diverged")
    assert 1 <= diverged < 8, statuses
    assert statuses[-diverged:] == ["diverged"] * diverged  # never ranked: last, below every cost
    cells = page.evaluate("""[...document.querySelectorAll('#trials-table tbody tr[data-status="diverged"] td.metric')]
        .map((td) => td.textContent)""")
    assert cells == ["diverged"] * diverged
    # drawn apart (a red ✕ above the highest cost, on a log axis), never as the best
    scatter = page.evaluate("""(() => { const el = document.getElementById('scatter-optimizer-learning_rate');
        return {crosses: el.data[1].x.length, points: el.data[0].x.length, y: el.layout.yaxis.type}; })()""")
    assert scatter == {"crosses": diverged, "points": 8 - diverged, "y": "log"}
    assert page.evaluate("window.nnSearch.trials.find((t) => t.status === 'diverged').trial") != int(
        page.text_content("#best-value").split("#")[1].rstrip(")"))


def test_cancel_stops_a_running_sweep(page, server_url):
    open_search(page, server_url)
    page.fill("#trials", "40")
    page.fill("#epochs", "2000")
    page.click("#start")
    page.wait_for_function("document.querySelectorAll('#trials-table tbody tr[data-trial]').length >= 1",
                           timeout=SWEEP_TIMEOUT)
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').dataset.status === 'cancelled'", timeout=TIMEOUT)
    assert "Search cancelled" in page.text_content("#banners")
    assert page.is_enabled("#start")
    done = page.evaluate("window.nnSearch.trials.length")
    assert 1 <= done < 40


def test_a_refused_range_is_marked_on_its_row(page, server_url):
    open_search(page, server_url)
    page.check("#sp-network-hidden-0")
    page.fill("#sp-network-hidden-0-hi", "64")
    page.click("#start")
    error = page.locator(".space-row[data-path='network.hidden.0'] .field-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "units per layer must be in [1, 16]" in error.text_content()
    assert page.get_attribute("#status", "data-status") == "idle"


@pytest.mark.parametrize("width, height", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("presenter", [False, True])
def test_the_layout_holds(page, server_url, artifacts, width, height, presenter):
    page.set_viewport_size({"width": width, "height": height})
    open_search(page, server_url, EXPERIMENT + ("&presenter=true" if presenter else ""))
    for box in ("#sp-regularization-l2", "#sp-network-hidden-0", "#sp-batch_size"):
        page.check(box)
    run_sweep(page, trials=12)
    try:  # the plots follow their boxes within a few frames (longer on a loaded machine)
        page.wait_for_function(f"({OUTSIDE_JS})().length === 0", timeout=5000)
    except Exception:  # noqa: BLE001 (playwright's TimeoutError): reported below
        pass
    mode = "presenter" if presenter else "normal"
    page.screenshot(path=str(artifacts / f"search-{width}x{height}-{mode}.png"))
    assert layout_problems(page) == []
    assert plots_outside_their_boxes(page) == []
    assert page.console_errors == []
