"""Small helpers shared by the browser tests: open the page, read counters and plots."""
from __future__ import annotations

import json
import urllib.parse

TIMEOUT = 15_000  # ms


def open_playground(page, server_url: str, hash_: str = "") -> None:
    """Load the page (optionally with a URL-hash state) and wait until the server's first frame is drawn."""
    page.goto(f"{server_url}/{('#' + hash_) if hash_ else ''}")
    wait_ready(page)


def wait_ready(page) -> None:
    """Wait for a fresh session: status Ready and a decision boundary painted on the plot."""
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'", timeout=TIMEOUT)
    wait_painted(page)


def wait_painted(page) -> None:
    """Wait until the current data's decision boundary is painted: on the boundary canvas, and the
    plot's hover layer (a heatmap trace, added with the first boundary of new data)."""
    page.wait_for_function(
        "document.getElementById('boundary').data?.[0]?.type === 'heatmap'"
        " && document.getElementById('boundary-canvas').dataset.shows?.startsWith('boundary')", timeout=TIMEOUT)


def iteration(page) -> int:
    return int(page.locator("#iteration").text_content().replace(",", ""))


def settled_iteration(page, quiet_ms: int = 600) -> int:
    """The iteration counter once it has not changed for `quiet_ms` (after a pause, the frames
    already in flight are drawn; on a loaded machine that takes longer than a fixed wait)."""
    shown = iteration(page)
    for _ in range(TIMEOUT // quiet_ms):
        page.wait_for_timeout(quiet_ms)
        now = iteration(page)
        if now == shown:
            return now
        shown = now
    raise AssertionError(f"the iteration counter kept changing for {TIMEOUT} ms")


def wait_iteration_above(page, n: int) -> None:
    page.wait_for_function(
        f"Number(document.getElementById('iteration').textContent.replace(/,/g, '')) > {n}", timeout=TIMEOUT)


def cost_series(page, trace: int = 2) -> list:
    """y values of a cost-plot trace (0 raw mini-batch, 1 EWMA, 2 train, 3 dev), nulls dropped."""
    return page.evaluate(
        f"(document.getElementById('cost-plot').data?.[{trace}]?.y || []).filter((v) => v !== null)")


def boundary_sample(page) -> list:
    """Every 10th row and column of the decision-boundary grid painted on the boundary canvas."""
    return page.evaluate("""() => {
        const g = document.getElementById('boundary-canvas').nnGrid;
        const rows = [];
        for (let r = 0; r < g.rows; r += 10) {
          const row = [];
          for (let c = 0; c < g.cols; c += 10) row.push(g.data[r * g.cols + c]);
          rows.push(row);
        }
        return rows;
    }""")


def hash_state(page) -> dict:
    """The URL hash as a dict of strings."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).fragment, keep_blank_values=True))


def select_label(page, key: str, label: str) -> None:
    page.select_option(f"#ctl-{key}", label=label)


def selected_label(page, key: str) -> str:
    """What the control of `key` shows: a select's chosen option, an input's value or checked state."""
    return page.eval_on_selector(f"#ctl-{key}", """(el) => el.tagName === 'SELECT' ? el.options[el.selectedIndex].textContent
        : el.type === 'checkbox' ? String(el.checked) : el.value""")


# ---------------------------------------------------------------- the optimizer lab
def open_lab(page, server_url: str, hash_: str = "") -> None:
    """Load /lab (optionally with a URL-hash state) and wait until its contours are drawn and it is ready."""
    page.goto(f"{server_url}/lab{('#' + hash_) if hash_ else ''}")
    page.wait_for_selector("#race-plot .contourlayer path", timeout=TIMEOUT)
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'", timeout=TIMEOUT)


def lab_points(page) -> dict:
    """Points drawn per optimizer id (the race plot records them after each frame)."""
    return json.loads(page.get_attribute("#race-plot", "data-points") or "{}")


def lab_steps(page) -> int:
    return int(page.text_content("#step-count").replace(",", ""))


def wait_lab_steps_above(page, n: int) -> None:
    page.wait_for_function(f"Number(document.getElementById('step-count').textContent.replace(/,/g, '')) > {n}",
                           timeout=TIMEOUT)


def race_then_pause(page, steps: int) -> None:
    """Play the race until the step counter passes `steps`, pause it and let the last frame land."""
    page.click("#play")
    wait_lab_steps_above(page, steps)
    page.click("#play")
    page.wait_for_function("document.getElementById('status').dataset.status === 'paused'", timeout=TIMEOUT)
    page.wait_for_timeout(300)
