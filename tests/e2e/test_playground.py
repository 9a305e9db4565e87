"""The main view: loading, training, live changes, architecture changes, divergence, keyboard,
hover and link editing, presenter mode, and the screenshots a person looks at."""
from __future__ import annotations

from tests.e2e.helpers import (hash_state, TIMEOUT, boundary_sample, cost_series, iteration, open_playground,
                               select_label, wait_iteration_above, wait_ready)


def test_page_loads_without_console_errors(page, server_url):
    open_playground(page, server_url)
    assert page.locator(".dataset-tile").count() >= 10
    assert page.locator(".node.neuron").count() == 6  # default hidden layers [4, 2]
    assert page.locator("#boundary-legend").inner_text().startswith("class 0")
    # every visible control has a label
    unlabeled = page.evaluate("""[...document.querySelectorAll('select, input:not([type=file])')]
        .filter((el) => el.offsetParent && !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id)""")
    assert unlabeled == []
    assert page.console_errors == []


def test_play_trains_and_every_view_follows(page, server_url, artifacts):
    open_playground(page, server_url, "speed=30")
    before = boundary_sample(page)
    page.click("#play")
    page.wait_for_function("document.getElementById('status').dataset.status === 'running'", timeout=TIMEOUT)
    wait_iteration_above(page, 150)
    first = iteration(page)
    wait_iteration_above(page, first + 50)  # the counter keeps rising
    page.wait_for_function("(document.getElementById('cost-plot').data?.[2]?.y || []).length > 10", timeout=TIMEOUT)
    costs = cost_series(page)
    assert costs[-1] < 0.8 * costs[0], costs  # the train cost falls
    assert boundary_sample(page) != before    # the decision boundary moved
    assert page.locator("#grad-gauge .gauge-row").count() == 3
    page.click("#play")  # pause
    page.wait_for_function("document.getElementById('status').dataset.status === 'paused'", timeout=TIMEOUT)
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "main-1280x720.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "main-1920x1080.png"))
    assert page.console_errors == []


def test_keyboard_and_a_live_learning_rate_change(page, server_url):
    open_playground(page, server_url, "speed=10")
    page.keyboard.press("ArrowRight")  # → steps one iteration
    page.wait_for_function("document.getElementById('iteration').textContent === '000,001'", timeout=TIMEOUT)
    page.keyboard.press(" ")           # space plays
    page.wait_for_function("document.getElementById('status').dataset.status === 'running'", timeout=TIMEOUT)
    wait_iteration_above(page, 50)
    points = len(cost_series(page))
    select_label(page, "learning_rate", "0.1")
    page.wait_for_function("document.getElementById('lr').textContent === '0.1'", timeout=TIMEOUT)
    after = iteration(page)
    wait_iteration_above(page, after + 20)
    assert after > 50, "a live change must not reset the run"
    assert len(cost_series(page)) > points, "the curves keep their history"
    assert hash_state(page)["learning_rate"] == "0.1"
    page.keyboard.press(" ")           # space pauses
    page.wait_for_function("document.getElementById('status').dataset.status === 'paused'", timeout=TIMEOUT)


def test_network_view_layers_hover_and_weights(page, server_url):
    open_playground(page, server_url)
    page.click("button[aria-label='Add a hidden layer']")
    page.wait_for_function("document.querySelectorAll('.layer-col').length === 3", timeout=TIMEOUT)
    wait_ready(page)
    assert page.locator("#layer-count").text_content() == "3 hidden layers"
    assert page.locator(".node.neuron").count() == 8
    # links: 2 inputs→4, 4→2, 2→2, 2→1 output
    page.wait_for_function("document.querySelectorAll('.link-hit').length === 2*4 + 4*2 + 2*2 + 2*1", timeout=TIMEOUT)
    assert hash_state(page)["hidden"] == "4,2,2"
    page.click("button[aria-label='Add a neuron to layer 3']")
    page.wait_for_function("document.querySelectorAll('.node.neuron').length === 9", timeout=TIMEOUT)
    wait_ready(page)
    # the weights of the new shape arrive and style the links
    page.wait_for_function("document.querySelector('canvas.links').nnLinks.every((k) => k.stroke !== '#cfd3d6')", timeout=TIMEOUT)
    # ... painted on the links' canvas: the middle of each link is not blank (a thin link can fall between pixels)
    blank = page.evaluate("""() => {
        const c = document.querySelector('canvas.links'), ctx = c.getContext('2d'), s = c.width / c.clientWidth;
        return c.nnLinks.filter((k) => {
            const [x0, y0, mx, x1, y1] = k.curve;
            const px = ctx.getImageData(Math.round(mx * s) - 1, Math.round((y0 + y1) / 2 * s) - 1, 3, 3).data;
            return px.every((v, n) => n % 4 !== 3 || v === 0);  // 3×3 pixels, every alpha 0
        }).length;
    }""")
    assert blank == 0
    # hovering a neuron shows its output on the big plot; clicking a link opens its weight
    page.locator(".node.neuron").first.hover()
    caption = page.locator("#boundary-caption")
    caption.wait_for(state="visible", timeout=TIMEOUT)
    assert caption.text_content() == "Layer 1, neuron 1"
    page.wait_for_function("document.getElementById('boundary-canvas').dataset.shows === 'neuron 20×20'",
                           timeout=TIMEOUT)  # its 20×20 grid, on the boundary's canvas
    page.mouse.move(5, 700)
    caption.wait_for(state="hidden", timeout=TIMEOUT)
    page.locator(".link-hit").first.dispatch_event("click", {"clientX": 500, "clientY": 400})
    editor = page.locator(".weight-editor")
    editor.wait_for(state="visible", timeout=TIMEOUT)
    assert "W[1] row 1, col 1" in editor.inner_text()
    float(page.locator("#weight-value").input_value())  # shows the current weight
    page.keyboard.press("Escape")
    editor.wait_for(state="hidden", timeout=TIMEOUT)
    # editing it sends set_weight; the next frame carries the new weight, shown when reopened
    page.locator(".link-hit").first.dispatch_event("click", {"clientX": 500, "clientY": 400})
    editor.wait_for(state="visible", timeout=TIMEOUT)
    page.fill("#weight-value", "3.5")
    page.press("#weight-value", "Enter")
    page.wait_for_timeout(500)
    page.keyboard.press("Escape")
    page.locator(".link-hit").first.dispatch_event("click", {"clientX": 500, "clientY": 400})
    editor.wait_for(state="visible", timeout=TIMEOUT)
    assert float(page.locator("#weight-value").input_value()) == 3.5
    page.keyboard.press("Escape")
    assert page.console_errors == []


def test_huge_learning_rate_shows_the_divergence_banner(page, server_url):
    open_playground(page, server_url, "activation=linear&optimizer=momentum&speed=10")
    page.click("#play")
    wait_iteration_above(page, 5)
    select_label(page, "learning_rate", "100")
    banner = page.locator("#banner-diverged")
    banner.wait_for(state="visible", timeout=TIMEOUT)
    assert "learning rate" in banner.inner_text()
    assert page.locator("#status").text_content() == "Diverged"
    banner.get_by_role("button", name="Reset").click()
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'", timeout=TIMEOUT)
    assert not banner.is_visible()
    assert page.console_errors == []


def test_invalid_values_are_marked_next_to_their_control(page, server_url):
    open_playground(page, server_url)
    page.fill("#ctl-epsilon", "abc")
    page.press("#ctl-epsilon", "Enter")
    error = page.locator("[data-key=epsilon] .field-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "ε must be a number" in error.text_content()
    # a value the browser accepts but the server's limits refuse: the server's message, by the network
    page.goto("about:blank")
    page.goto(f"{server_url}/#hidden=20")
    slot = page.locator("[data-error-for=hidden]")
    slot.wait_for(state="visible", timeout=TIMEOUT)
    assert "16" in slot.text_content()


def test_presenter_mode_scales_up_and_hides_secondary_controls(page, server_url, artifacts):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_playground(page, server_url, "dataset=spiral&hidden=8,8,4&activation=tanh&speed=30&lesson=activations")
    page.click("#play")
    wait_iteration_above(page, 150)
    page.click("#presenter")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "21px"
    assert not page.locator("[data-key=l1]").is_visible()
    assert not page.locator("#runs-menu").is_visible()
    assert page.locator("[data-key=learning_rate]").is_visible()
    assert hash_state(page)["presenter"] == "true"
    page.click("#play")
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "presenter-1920x1080.png"))
    assert page.console_errors == []


def test_frame_decoding_matches_the_server_encoder(page, server_url):
    """socket.js decodes what server/frames.py encodes: header, padding, float32 arrays, uint8
    images with their own [lo, hi] (the same values as the decoder the server tests use, written
    from the docs)."""
    import base64

    import numpy as np

    from server.frames import encode_frame
    from tests.server.conftest import decode_frame

    page.goto(f"{server_url}/static/js/socket.js")  # same origin, no app running
    for pad in ("", "x", "xy", "xyz"):  # every header length mod 4
        boundary = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
        neurons = -np.arange(8, dtype=np.float32).reshape(2, 2, 2)
        W1 = np.array([[0.1, -2.5], [1e-8, 3.0]])
        frame = encode_frame({"type": "frame", "iteration": 7, "note": pad}, {"boundary": boundary, "neurons": neurons},
                             exact={"W1": W1, "b1": np.ones((2, 1))})
        decoded = page.evaluate("""async (b64) => {
            const { decodeFrame } = await import('/static/js/socket.js');
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const { header, arrays } = decodeFrame(bytes.buffer);
            return { header, boundary: [...arrays.boundary.data], shape: arrays.boundary.shape, neurons: [...arrays.neurons.data],
                     W1: [...arrays.W1.data], W1shape: arrays.W1.shape, b1: [...arrays.b1.data] };
        }""", base64.b64encode(frame).decode())
        assert decoded["header"]["iteration"] == 7 and decoded["header"]["note"] == pad
        assert decoded["shape"] == [3, 4]
        _, expected = decode_frame(frame)
        np.testing.assert_allclose(decoded["boundary"], expected["boundary"].ravel(), rtol=1e-6)
        np.testing.assert_allclose(decoded["neurons"], expected["neurons"].ravel(), rtol=1e-6)
        np.testing.assert_allclose(decoded["boundary"], boundary.ravel(), atol=(11 / 7) / 510 + 1e-6)
        assert decoded["neurons"] == [0, -1, -2, -3, -4, -5, -6, -7]  # levels hit exactly
        assert decoded["W1shape"] == [2, 2] and decoded["b1"] == [1, 1]
        assert decoded["W1"] == W1.astype(np.float32).ravel().tolist()  # float32, not quantized


def test_state_schema_maps_to_the_server_config_and_back(page, server_url):
    """state.js: toConfig gives a valid TrainConfig, and every lesson survives config → state → config."""
    from engine.config import TrainConfig
    from server.presets import PRESETS

    page.goto(f"{server_url}/static/js/state.js")
    result = page.evaluate("""async (presets) => {
        const s = await import('/static/js/state.js');
        const roundTrip = presets.map((p) => s.toConfig(s.parseHash(s.serializeHash(s.fromConfig(p.config))).state));
        return { defaults: s.toConfig(s.defaults()), roundTrip };
    }""", PRESETS)
    TrainConfig.model_validate(result["defaults"])
    for preset, config in zip(PRESETS, result["roundTrip"]):
        expected = TrainConfig.model_validate(preset["config"]).model_dump()
        got = TrainConfig.model_validate(config).model_dump()
        # fields the page does not expose keep their defaults
        for key in ("dtype", "backend"):
            got[key] = expected[key]
        for key in ("leaky_slope", "bn_momentum", "bn_epsilon"):
            got["network"][key] = expected["network"][key]
        if expected["features"] is None:
            expected["features"] = ["x1", "x2"]
        assert got == expected, preset["id"]


def test_the_pages_ranges_defaults_and_live_keys_come_from_the_config_schema(page, server_url):
    """state.js keeps labels and layout only: every range, default, choice list and live key of an
    entry with a config path is the schema's (embedded in the page: no /api/config-schema request),
    and the optimizer controls follow the schema's used_by marks."""
    from engine.config import TrainConfig, live_paths, optimizer_uses

    requests = []
    page.on("request", lambda r: requests.append(r.url))
    open_playground(page, server_url)
    assert not [url for url in requests if "config-schema" in url]  # embedded, no round trip
    got = page.evaluate("""async () => {
        const s = await import('/static/js/state.js');
        const embedded = JSON.parse(document.getElementById('config-schema').textContent);
        return { entries: s.SCHEMA, uses: s.OPTIMIZER_USES, same: JSON.stringify(embedded) === JSON.stringify(s.CONFIG_SCHEMA) };
    }""")
    assert got["same"]
    entries = {e["key"]: e for e in got["entries"]}
    schema = TrainConfig.model_json_schema()
    lr = entries["learning_rate"]
    assert (lr["min"], lr.get("minOpen"), lr["max"], lr["default"], lr["kind"]) == (0, True, 100, 0.01, "live")
    assert (entries["beta2"]["max"], entries["beta2"].get("maxOpen")) == (1, True)
    assert (entries["hidden"]["max"], entries["hidden"]["maxLength"], entries["hidden"]["default"]) == (1024, 10, [4, 2])
    assert entries["optimizer"]["values"] == schema["$defs"]["OptimizerConfig"]["properties"]["name"]["enum"]
    assert sorted(entries["activation"]["values"]) == sorted(schema["$defs"]["NetworkConfig"]["properties"]["activation"]["enum"])
    live = {e["path"].split(".")[0] if e["path"].startswith("schedule.") else e["path"].split(".")[-1]
            for e in got["entries"] if e["kind"] == "live"}
    assert live == set(live_paths())
    assert {k: set(v) for k, v in got["uses"].items()} == {k: set(v) for k, v in optimizer_uses().items()}
    # the controls follow the marks: momentum shows β only, RMSprop β₂ and ε, Adam all four
    for optimizer, keys in optimizer_uses().items():
        select_label(page, "optimizer", {"gd": "GD", "momentum": "Momentum", "rmsprop": "RMSprop", "adam": "Adam"}[optimizer])
        for key in ("beta", "beta1", "beta2", "epsilon", "bias_correction"):
            assert page.locator(f"#hyperparams [data-key={key}]").is_visible() == (key in keys), (optimizer, key)
    assert page.console_errors == []


# ------------------------------------------------------------------ painting (issue #11)
PAUSED = "document.getElementById('status').dataset.status === 'paused'"


def test_every_frame_received_is_painted_once(page, server_url):
    """app.js paints the newest frame once per animation frame and counts it in window.nnPaint.drawn:
    the count follows the frames while training and stands still while paused."""
    binary = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: binary.append(1) if isinstance(p, bytes) else None))
    open_playground(page, server_url, "speed=3")
    start, received = page.evaluate("window.nnPaint.drawn"), len(binary)
    page.click("#play")
    wait_iteration_above(page, 90)  # 30 frames at 3 steps a frame
    page.click("#play")
    page.wait_for_function(PAUSED, timeout=TIMEOUT)
    page.wait_for_timeout(300)
    drawn, frames = page.evaluate("window.nnPaint.drawn") - start, len(binary) - received
    assert frames >= 20 and 0.6 * frames <= drawn <= frames, (drawn, frames)
    page.wait_for_timeout(400)
    assert page.evaluate("window.nnPaint.drawn") - start == drawn  # nothing to paint, nothing painted


def test_a_frame_drawn_after_the_pause_does_not_resume_the_status(page, server_url):
    """A frame received just before Pause is pressed is drawn (at the next animation frame) after
    the server's paused `state` has arrived. Here the page's animation frames are held and the
    server's frames after the pause are dropped (the server sends none when it had not trained
    since its last frame), so the held frame, whose status is 'running', is the last one drawn:
    the page must stay paused."""
    paused = []

    def relay(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda m: (paused.append(1) if isinstance(m, str) and '"pause"' in m else None, server.send(m)))
        server.on_message(lambda m: None if paused and isinstance(m, bytes) else ws.send(m))

    page.route_web_socket("**/ws", relay)
    open_playground(page, server_url, "speed=10")
    page.click("#play")
    wait_iteration_above(page, 50)
    page.evaluate("() => { window.__held = []; window.requestAnimationFrame = (cb) => window.__held.push(cb); }")
    page.wait_for_function("window.__held.length > 0", timeout=TIMEOUT)  # a frame waits to be drawn
    page.click("#play")
    page.wait_for_timeout(500)  # the server's paused `state` arrives
    page.evaluate("() => window.__held.splice(0).forEach((cb) => cb(performance.now()))")
    page.wait_for_timeout(300)
    assert paused and page.evaluate(PAUSED), page.evaluate("document.getElementById('status').dataset.status")


def test_the_boundary_is_painted_smoothly_on_a_canvas(page, server_url):
    """The boundary grid is drawn scaled with smoothing: between two neighbouring grid points whose
    values differ, the canvas ramps through intermediate colours (a pixelated image jumps once)."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_playground(page, server_url, "speed=30")
    page.click("#play")
    wait_iteration_above(page, 300)
    page.click("#play")
    page.wait_for_function(PAUSED, timeout=TIMEOUT)
    page.wait_for_timeout(300)
    ramp = page.evaluate("""() => {
        const canvas = document.getElementById('boundary-canvas');
        const plot = document.getElementById('boundary');
        const { data, rows, cols, domain: [xmin, xmax, ymin, ymax] } = canvas.nnGrid;
        const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis, dpr = canvas.width / plot.clientWidth;
        let best = null; // the steepest step between neighbours along a row, away from the ŷ = 0.5 contour line
        for (let r = 5; r < rows - 5; r++) for (let c = 5; c < cols - 6; c++) {
          const a = data[r * cols + c], b = data[r * cols + c + 1];
          if (Math.min(Math.abs(a - 0.5), Math.abs(b - 0.5)) < 0.1 || (a - 0.5) * (b - 0.5) < 0) continue;
          const d = Math.abs(b - a);
          if (!best || d > best.d) best = { d, r, c };
        }
        const px = (c) => (xa._offset + xa.l2p(xmin + (c / (cols - 1)) * (xmax - xmin))) * dpr;
        const y = Math.round((ya._offset + ya.l2p(ymin + (best.r / (rows - 1)) * (ymax - ymin))) * dpr);
        const x0 = Math.round(px(best.c)), x1 = Math.round(px(best.c + 1));
        const line = canvas.getContext('2d').getImageData(x0, y, x1 - x0 + 1, 1).data;
        const colours = new Set();
        for (let i = 0; i < line.length; i += 4) colours.add(`${line[i]},${line[i + 1]},${line[i + 2]}`);
        return { step: best.d, pixels: x1 - x0 + 1, colours: colours.size, canvasWidth: canvas.width, plotWidth: plot.clientWidth };
    }""")
    assert ramp["canvasWidth"] >= ramp["plotWidth"]  # drawn at the screen's resolution, not stretched by CSS
    assert ramp["step"] > 0.02 and ramp["pixels"] >= 4, ramp
    assert ramp["colours"] >= 3, ramp  # a ramp, not one jump


def test_regression_dev_and_test_points_are_filled_with_their_value(page, server_url):
    open_playground(page, server_url, "dataset=reg_plane&show_test=true&split=0.6,0.2,0.2")
    fills = page.evaluate("""() => {
        const traces = document.getElementById('boundary').data.filter((t) => t.name === 'dev' || t.name === 'test');
        const neutral = [0xe8, 0xea, 0xeb];
        return traces.map((t) => ({ name: t.name, far: t.marker.color.filter((c) => {
            const rgb = c.match(/\\d+/g).map(Number);
            return Math.hypot(...rgb.map((v, i) => v - neutral[i])) > 40;
        }).length / t.marker.color.length, n: t.marker.color.length }));
    }""")
    assert [f["name"] for f in fills] == ["dev", "test"]
    for f in fills:
        assert f["n"] > 20 and f["far"] > 0.6, f  # coloured, not grey discs that read as hollow outlines


def test_a_weight_link_is_edited_from_the_keyboard(page, server_url):
    """Every link has a key: Tab reaches the links (one tab stop), arrows move between them, the
    key's name says W[l] row/col and the value, Enter opens the editor; the new weight comes back
    from the server in the next frame."""
    open_playground(page, server_url)  # hidden 4,2: 2·4 + 4·2 + 2·1 links
    keys = page.locator(".link-key")
    assert keys.count() == 18
    assert page.evaluate("[...document.querySelectorAll('.link-key')].filter((k) => k.tabIndex === 0).length") == 1
    page.locator(".node.neuron").last.focus()
    page.keyboard.press("Tab")  # from the last neuron to the links' one tab stop
    assert page.evaluate("document.activeElement.classList.contains('link-key')")
    page.keyboard.press("ArrowDown")  # W[1] row 1, col 2
    page.keyboard.press("ArrowRight")  # first link of layer 2: W[2] row 1, col 1
    page.keyboard.press("ArrowDown")  # W[2] row 1, col 2
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label.startswith("W[2] row 1, col 2 = "), label
    highlighted = page.evaluate("(({ l, i, j }) => [l, i, j])(document.querySelector('canvas.links').nnHighlighted)")
    assert highlighted == [2, 0, 1]  # the link shows the focus too (painted last, glowing)
    page.keyboard.press("Enter")
    editor = page.locator(".weight-editor")
    editor.wait_for(state="visible", timeout=TIMEOUT)
    assert "W[2] row 1, col 2" in editor.inner_text()
    assert page.evaluate("document.activeElement.id") == "weight-value"
    page.keyboard.press("Control+A")
    page.keyboard.type("-2.5")
    page.keyboard.press("Enter")
    editor.wait_for(state="hidden", timeout=TIMEOUT)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("W[2] row 1, col 2")  # back on the link
    page.wait_for_function("document.activeElement.getAttribute('aria-label').startsWith('W[2] row 1, col 2 = -2.5')",
                           timeout=TIMEOUT)  # the server's next frame carries the new weight
    assert page.evaluate("document.querySelector('.link-hit[data-layer=\"2\"][data-row=\"0\"][data-col=\"1\"]') !== null")
    assert page.console_errors == []


def test_curves_grow_in_place_and_fit_train_dev_not_minibatch_spikes(page, server_url):
    """New points are appended (Plotly.extendTraces, earlier points kept, no Plotly.react per
    frame); the cost axis's top follows train/dev/EWMA, so single-example mini-batch costs above it
    are clipped instead of flattening the curves; the lines are painted where the axes put them."""
    open_playground(page, server_url, "dataset=spiral&noise=0.3&batch_size=1&speed=10")
    page.evaluate("""() => {
        window.__calls = { extend: 0, react: 0 };
        const { extendTraces, react } = Plotly;
        Plotly.extendTraces = function (gd, ...rest) { if (gd.id === 'cost-plot') __calls.extend++; return extendTraces.call(this, gd, ...rest); };
        Plotly.react = function (gd, ...rest) { if (gd.id === 'cost-plot') __calls.react++; return react.call(this, gd, ...rest); };
    }""")
    page.click("#play")
    wait_iteration_above(page, 100)
    first = page.evaluate("document.getElementById('cost-plot').data[2].x[0]")
    wait_iteration_above(page, 600)
    page.click("#play")
    page.wait_for_function(PAUSED, timeout=TIMEOUT)
    page.wait_for_timeout(800)  # the curves' last redraw
    plot = page.evaluate("""() => { const p = document.getElementById('cost-plot');
        return { calls: window.__calls, x: Array.from(p.data[2].x), range: p._fullLayout.yaxis.range,
                 raw: p.data[0].y.filter((v) => v !== null), smooth: [1, 2, 3].flatMap((i) => p.data[i].y.filter((v) => v !== null)) }; }""")
    assert plot["calls"]["extend"] >= 3 and plot["calls"]["react"] <= 1, plot["calls"]
    assert plot["x"][0] == first and plot["x"] == sorted(plot["x"]) and len(plot["x"]) > 40  # earlier points kept, in order
    top = max(plot["smooth"])
    assert top <= plot["range"][1] <= 1.1 * top, (plot["range"], top)
    assert max(plot["raw"]) > plot["range"][1]  # a spike, clipped at the top
    # the lines are painted on the canvas over the plot, where Plotly's axes put each point
    misses = page.evaluate("""() => {
        const p = document.getElementById('cost-plot'), c = p.parentElement.querySelector('canvas.curve-lines');
        const ctx = c.getContext('2d'), s = c.width / c.clientWidth;
        const xa = p._fullLayout.xaxis, ya = p._fullLayout.yaxis, d = p.data[2];
        let misses = 0;
        for (let i = 0; i < d.x.length; i += 10) {
            if (d.y[i] === null || d.y[i] > ya.range[1]) continue;
            const px = ctx.getImageData(Math.round((xa._offset + xa.l2p(d.x[i])) * s) - 1,
                                        Math.round((ya._offset + ya.l2p(d.y[i])) * s) - 1, 3, 3).data;
            if (px.every((v, n) => n % 4 !== 3 || v === 0)) misses++;
        }
        return misses;
    }""")
    assert misses == 0
    assert page.console_errors == []


def test_cost_png_has_a_legend(page, server_url):
    open_playground(page, server_url, "speed=10")
    page.click("#play")
    wait_iteration_above(page, 50)
    page.click("#play")
    page.evaluate("() => { Plotly.downloadImage = (figure, options) => { window.__exported = { figure, options }; }; }")
    page.click("#runs-menu > summary")
    page.click("#export-cost")
    exported = page.evaluate("""() => ({ legend: __exported.figure.layout.showlegend,
        names: __exported.figure.data.map((t) => t.name), points: __exported.figure.data[2].x.length })""")
    assert exported["legend"] is True
    assert exported["names"][:4] == ["mini-batch", "mini-batch EWMA", "train", "dev"] and exported["points"] > 3
