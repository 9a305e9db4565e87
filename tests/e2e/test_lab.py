"""The optimizer lab in a real browser (Playwright, chromium): three optimizers race on the
elongated bowl (each path painted in its colour on the canvas over the contours), a learning rate
changes live, normalizing the logistic inputs redraws the contours on equal axes. Screenshots go to
test-artifacts/ (look at them)."""
from tests.e2e.helpers import TIMEOUT, lab_points as points, open_lab

# κ = 50 and a tight tolerance keep the race going for several seconds at 1 step per frame
RACE = ("#surface=quadratic&condition=50&rotation=30&tol=1e-8&speed=1"
        "&opt=gd,lr:0.035&opt=momentum,lr:0.035,b:0.9&opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1")


def painted_colours(page) -> dict:
    """Pixels of each opaque colour on the race's path canvas ('#rrggbb' -> count)."""
    return page.evaluate("""() => {
        const c = document.querySelector('#race-plot canvas.race-paths');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = {};
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] < 250) continue;
            const k = '#' + [d[i], d[i + 1], d[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join('');
            seen[k] = (seen[k] || 0) + 1;
        }
        return seen;
    }""")


def racer_colours(page) -> list:
    """Each racer's colour (the results table's swatches), as '#rrggbb'."""
    return page.evaluate("""() => [...document.querySelectorAll('#results tbody tr')].map((tr) => {
        const [r, g, b] = getComputedStyle(tr.querySelector('.swatch')).backgroundColor.match(/\\d+/g).map(Number);
        return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
    })""")


def marker_pixels(page) -> dict:
    """The marker canvas's pixel at the start point and at the minimum ([r, g, b, a])."""
    return page.evaluate("""() => {
        const gd = document.getElementById('race-plot');
        const c = gd.querySelector('canvas.race-marks');
        const s = window.nnLab.surface();
        const dpr = c.width / parseFloat(c.style.width);
        const at = ([x, y]) => Array.from(c.getContext('2d').getImageData(
            Math.round(gd._fullLayout.xaxis.c2p(x) * dpr), Math.round(gd._fullLayout.yaxis.c2p(y) * dpr), 1, 1).data);
        return {start: at(s.startPoint), minimum: at(s.minimum)};
    }""")


def contour(page) -> dict:
    return page.evaluate("""() => {
        const gd = document.getElementById('race-plot');
        const c = gd.data[0];
        return {x0: c.x[0], x1: c.x[c.x.length - 1], z: c.z[5].slice(0, 10), range: gd._fullLayout.xaxis.range};
    }""")


def test_three_optimizers_race_live_lr_and_normalization(page, server_url, artifacts):
    page.goto(server_url + "/lab" + RACE)

    page.wait_for_selector("#race-plot .contourlayer path", timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 3")
    assert page.inner_text("#status") == "Ready"
    assert page.get_attribute("#back-link", "href") == "/"

    # start: three paths grow, each in its own colour
    page.click("#play")
    page.wait_for_function("""() => { const p = JSON.parse(document.getElementById('race-plot').dataset.points || '{}');
        return Object.keys(p).length === 3 && Object.values(p).every((n) => n > 15); }""", timeout=TIMEOUT)
    # while racing only the paths are painted: no Plotly redraw of the contours, one paint per frame
    page.evaluate("""() => { window.replots = 0; window.drawnBefore = window.nnPaint.drawn;
        document.getElementById('race-plot').on('plotly_afterplot', () => { window.replots += 1; }); }""")
    first = points(page)
    page.wait_for_timeout(600)
    later = points(page)
    assert all(later[k] > first[k] for k in first), (first, later)
    assert page.evaluate("window.replots") == 0
    assert page.evaluate("window.nnPaint.drawn - window.drawnBefore") >= 5
    colours = racer_colours(page)
    assert len(set(colours)) == 3
    painted = painted_colours(page)
    assert all(painted.get(c, 0) > 20 for c in colours), (colours, {c: painted.get(c) for c in colours})
    # the start ★ and the minimum ✕ are drawn above the paths (dark ink on the marker canvas)
    for name, (r, g, b, a) in marker_pixels(page).items():
        assert a > 200 and max(r, g, b) < 80, (name, r, g, b, a)
    # GD's α slider marks 2/λmax = 2/κ = 0.04 (the server's lr_limit)
    assert page.is_visible("#setup .lab-opt[data-id='o1'] .lr-limit")
    assert "2/λmax = 0.04" in page.get_attribute("#setup .lab-opt[data-id='o1'] .lr-limit", "title")
    assert page.locator("#setup .lab-opt[data-id='o2'] .lr-limit").count() == 0  # GD's bound only
    assert page.inner_text("#status") == "Racing"

    # live learning-rate change: the server echoes it, the GD path keeps its points
    before = points(page)["o1"]
    page.fill("#opt-o1-lr-text", "0.02")
    page.press("#opt-o1-lr-text", "Enter")
    page.wait_for_function("document.querySelector('#results tr[data-id=\"o1\"] td').textContent === '0.02'")
    page.wait_for_timeout(400)
    after = points(page)["o1"]
    assert after > before, "the path restarted or stopped after a live learning-rate change"
    assert "lr:0.02" in page.evaluate("location.hash")
    page.screenshot(path=str(artifacts / "lab-1280x720.png"))

    # the logistic model, raw inputs, then normalized: the contour grid is redrawn, on equal axes
    page.click("#surface-logistic")
    page.wait_for_function("document.getElementById('plot-caption').textContent.includes('raw inputs')")
    page.wait_for_function("document.getElementById('race-plot').data[0].x[0] < -1")
    raw = contour(page)
    page.check("#ctl-normalized")
    page.wait_for_function("document.getElementById('plot-caption').textContent.includes('normalized')")
    page.wait_for_function("document.getElementById('race-plot').data[0].x[0] > -1")
    norm = contour(page)
    assert norm["z"] != raw["z"] and norm["range"] != raw["range"]
    assert (norm["x1"] - norm["x0"]) < (raw["x1"] - raw["x0"])  # the normalized minimum lies closer to the start
    assert page.evaluate("document.getElementById('race-plot')._fullLayout.yaxis.scaleanchor") == "x"
    assert "surface=logistic" in page.evaluate("location.hash") and "normalized=1" in page.evaluate("location.hash")
    page.wait_for_function("""() => { const p = JSON.parse(document.getElementById('race-plot').dataset.points || '{}');
        return Object.values(p).length === 3 && Object.values(p).every((n) => n > 10); }""", timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "lab-logistic-normalized.png"))
    assert page.console_errors == []


def test_lab_at_1920x1080_with_previews(page, server_url, artifacts):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(server_url + "/lab" + RACE.replace("speed=1", "speed=5"))
    page.wait_for_selector("#race-plot .contourlayer path", timeout=TIMEOUT)
    page.click("#play")
    page.wait_for_function("Object.values(JSON.parse(document.getElementById('race-plot').dataset.points || '{}')).some((n) => n > 100)", timeout=TIMEOUT)
    # the learning-rate decay preview plots every schedule; the EWMA explorer one curve per β
    page.wait_for_function("document.getElementById('schedule-plot').data && document.getElementById('schedule-plot').data.length === 4")
    page.wait_for_function("document.getElementById('ewma-plot').data && document.getElementById('ewma-plot').data.length === 7")
    assert "β = 0.9: ≈ 10 days" in page.inner_text("#ewma-readings")
    page.fill("#ewma-beta-2", "0.95")
    page.press("#ewma-beta-2", "Enter")
    page.wait_for_function("document.getElementById('ewma-readings').textContent.includes('≈ 20 days')")
    # adding a fourth racer restarts the race with four paths
    page.click("#add-rmsprop")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 4")
    page.wait_for_function("Object.keys(JSON.parse(document.getElementById('race-plot').dataset.points || '{}')).length === 4")
    if page.inner_text("#status") != "Racing":  # the first race may have finished before the add
        page.click("#play")
    page.wait_for_function("Object.values(JSON.parse(document.getElementById('race-plot').dataset.points)).every((n) => n > 60)", timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "lab-1920x1080.png"), full_page=True)
    assert page.console_errors == []


def typed(page, field: str, value: str, shown_in: str) -> str:
    """Type `value` into the input `field`, press Enter: the text of `shown_in` then."""
    page.fill(field, value)
    page.press(field, "Enter")
    return page.inner_text(shown_in)


def test_the_labs_ranges_come_from_the_schema(page, server_url):
    """The page restates no range: its hash parser, input checks and messages, the preview controls
    and the racers' limit read GET /api/lab/schema (the server's pydantic models). The real
    schema's bounds show as they are; a schema served with other bounds changes every one of them."""
    open_lab(page, server_url, "surface=quadratic&condition=50&opt=gd,lr:0.02&opt=adam,lr:0.1")
    assert "α must be a number in (0, 100]" in typed(page, "#opt-o1-lr-text", "0", "#setup .lab-opt[data-id='o1']")
    assert "ε must be a number in (0, 1]" in typed(page, "#opt-o2-epsilon", "2", "#setup .lab-opt[data-id='o2']")
    assert "opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1" in page.evaluate("location.hash")  # OptimizerConfig's defaults

    def narrower(route):
        response = route.fetch()
        schema = response.json()
        models = schema["models"]
        models["Configure"]["$defs"]["LabOptimizer"]["properties"]["learning_rate"]["maximum"] = 5
        models["Configure"]["properties"]["optimizers"]["maxItems"] = 2
        models["SchedulePreview"]["properties"]["epochs"]["maximum"] = 50
        models["EwmaQuery"]["properties"]["betas"]["items"]["maximum"] = 0.9
        schema["uses"]["adam"] = ["beta1"]
        route.fulfill(response=response, json=schema)

    page.route("**/api/lab/schema", narrower)
    # α 8 is outside the served range: that racer is dropped from the hash, the other kept
    page.goto("about:blank")  # a new document: the schema is fetched again
    open_lab(page, server_url, "surface=quadratic&condition=50&opt=gd,lr:8&opt=gd,lr:0.02&opt=adam,lr:0.1&epochs=80")
    assert page.eval_on_selector_all("#results tbody tr", "(rows) => rows.length") == 2
    assert "lr:8" not in page.evaluate("location.hash") and "epochs=100" in page.evaluate("location.hash")
    assert "α must be a number in (0, 5]" in typed(page, "#opt-o1-lr-text", "6", "#setup .lab-opt[data-id='o1']")
    assert page.is_disabled("#add-gd")  # at most 2 racers
    assert page.locator("#opt-o2-beta1").count() == 1 and page.locator("#opt-o2-beta2").count() == 0  # uses
    assert "Epochs must be a whole number in [1, 50]" in typed(page, "#sched-epochs", "60", "#schedules-root")
    assert "β must be a number in [0, 0.9]" in typed(page, "#ewma-beta-0", "0.95", "#ewma-root")
    assert page.console_errors == []
