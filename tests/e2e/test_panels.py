"""Lessons, CSV upload, the URL as the experiment's state, saved runs and the disconnect banner."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.e2e.helpers import (hash_state, TIMEOUT, iteration, open_playground, select_label, selected_label,
                               wait_iteration_above, wait_painted, wait_ready)
from tests.live_server import free_port, start_server, stop_server


def _presets(server_url):
    with urllib.request.urlopen(f"{server_url}/api/presets") as r:
        return json.load(r)


def test_every_lesson_loads_with_its_explanation(page, server_url, artifacts):
    open_playground(page, server_url)
    presets = _presets(server_url)
    assert len(presets) >= 5
    for preset in presets:
        page.click("#lesson-menu > summary")
        page.click(f".menu-item[data-lesson='{preset['id']}']")
        card = page.locator("#lesson-card")
        card.wait_for(state="visible", timeout=TIMEOUT)
        assert preset["title"] in card.inner_text()
        assert preset["text"][:40] in card.inner_text()
        assert hash_state(page)["lesson"] == preset["id"]
        # the server accepted the lesson's config: its learning rate comes back in `state`
        lr = f'{preset["config"]["optimizer"]["learning_rate"]:g}'
        page.wait_for_function(f"document.getElementById('lr').textContent === '{lr}'", timeout=TIMEOUT)
        wait_ready(page)
        assert not page.locator("#banner-error").is_visible()
        if preset.get("topic") == "optimization":
            assert card.locator("a[href='/lab']").count() == 1
    assert page.console_errors == []


def test_gradient_checking_lesson_shows_the_verdict(page, server_url, artifacts):
    open_playground(page, server_url)
    lesson = next(p for p in _presets(server_url) if "grad" in p["id"] and "check" in p["id"])
    page.click("#lesson-menu > summary")
    page.click(f".menu-item[data-lesson='{lesson['id']}']")
    wait_ready(page)
    page.click("#gradcheck")
    result = page.locator("#gradcheck-result")
    page.wait_for_function("document.getElementById('gradcheck-result').dataset.verdict !== ''", timeout=TIMEOUT)
    assert "difference" in result.text_content().lower()
    page.click("#play")
    wait_iteration_above(page, 150)
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "lesson-1280x720.png"))


def test_csv_upload_good_and_bad(page, server_url):
    open_playground(page, server_url)
    rows = ["x1,x2,label"] + [f"{x / 10:.2f},{y / 10:.2f},{int(x * y > 0)}"
                              for x in range(-10, 11, 2) for y in range(-10, 11, 2) if x and y]
    good = "\n".join(rows).encode()
    page.set_input_files("#csv-file", files=[{"name": "quadrants.csv", "mimeType": "text/csv", "buffer": good}])
    info = page.locator("#csv-info")
    page.wait_for_function("document.getElementById('csv-info').textContent.includes('rows')", timeout=TIMEOUT)
    assert f"{len(rows) - 1} rows" in info.text_content()
    assert hash_state(page)["dataset"] == "csv" and hash_state(page)["csv_id"]
    wait_ready(page)
    assert page.locator(".dataset-tile[data-name='csv']").get_attribute("aria-checked") == "true"
    assert page.evaluate("document.getElementById('boundary').data.at(-1).x.length") > 0  # the CSV's points

    bad = b"x1,x2,label\n0.5,1.0,1\n0.1,oops,0\n"
    page.set_input_files("#csv-file", files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": bad}])
    error = page.locator("#csv-error")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "broken.csv" in error.text_content() and "line 3" in error.text_content()
    assert page.console_errors == [] or all("400" in e for e in page.console_errors)


def test_copied_url_reproduces_the_configuration(page, server_url, context):
    open_playground(page, server_url)
    page.click(".dataset-tile[data-name='spiral']")
    page.click("button[aria-label='Add a hidden layer']")
    select_label(page, "learning_rate", "0.03")
    select_label(page, "optimizer", "Momentum")
    select_label(page, "activation", "Tanh")
    select_label(page, "l2", "0.001")
    select_label(page, "keep_prob", "0.9")
    page.click("#regenerate")
    page.click(".feature[data-feature='x1_sq']")
    page.wait_for_timeout(500)  # the last configure's reply
    wait_ready(page)
    url = page.url

    other = context.new_page()
    try:
        open_playground(other, url.split("#")[0].rstrip("/"), url.split("#", 1)[1])
        keys = ["learning_rate", "optimizer", "activation", "l2", "keep_prob", "beta", "init", "split", "noise",
                "normalize", "batch_size", "epochs", "schedule", "early_stopping"]
        assert {k: selected_label(other, k) for k in keys} == {k: selected_label(page, k) for k in keys}
        assert selected_label(other, "optimizer") == "Momentum"
        assert other.locator(".dataset-tile[aria-checked='true']").get_attribute("data-name") == "spiral"
        assert other.locator(".layer-col").count() == 3
        assert other.locator(".feature.on").count() == 3
        # same data seed, same points: the heatmap's first frames agree
        same = "JSON.stringify(document.getElementById('boundary').data.at(-1).x.slice(0, 20))"
        assert other.evaluate(same) == page.evaluate(same)
        assert other.url == url
    finally:
        other.close()


def test_every_dataset_tile_is_drawn_from_one_previews_request(page, server_url):
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/datasets/" in r.url else None)
    open_playground(page, server_url)
    page.wait_for_function("""() => {
      const tiles = [...document.querySelectorAll('.dataset-tile:not([data-name=csv]) canvas')];
      return tiles.length >= 10 && tiles.every((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let colored = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2])) colored++;
        return colored > 50;  // points drawn in their class colours
      });
    }""", timeout=TIMEOUT)
    assert [u.split("?")[0].split("/api/")[1] for u in requests] == ["datasets/previews"]


def test_controls_can_be_hidden_from_the_url(page, server_url):
    open_playground(page, server_url, "learning_rate_hide=true&hidden_hide=true")
    assert not page.locator("[data-key=learning_rate]").is_visible()
    assert not page.locator("#layer-controls").is_visible()
    assert page.locator("[data-key=optimizer]").is_visible()
    assert hash_state(page)["learning_rate_hide"] == "true"


def test_save_load_and_export_a_run(page, server_url):
    open_playground(page, server_url, "dataset=xor&speed=30")
    page.click("#play")
    wait_iteration_above(page, 30)
    page.click("#play")
    page.click("#runs-menu > summary")
    page.fill("#run-name", "xor e2e")
    page.click("#save-run")
    page.wait_for_function("document.getElementById('runs-message').textContent.includes('Saved')", timeout=TIMEOUT)
    row = page.locator(".run-row", has_text="xor e2e")
    row.wait_for(timeout=TIMEOUT)
    run_id = row.get_attribute("data-run")
    with page.expect_download() as download:  # a saved run's own links (the network's .link rule once hid them from the mouse)
        row.get_by_role("link", name="JSON").click(timeout=5000)
    assert download.value.suggested_filename == f"run-{run_id}.json"
    exported = page.request.get(f"{server_url}/api/runs/{run_id}/export.json")
    assert exported.ok and exported.json()["config"]["data"]["name"] == "xor"
    history = page.request.get(f"{server_url}/api/runs/{run_id}/history.csv")
    assert history.ok and history.text().startswith("iteration")
    with page.expect_download() as download:
        page.click("#export-boundary")
    assert download.value.suggested_filename.endswith(".png")
    # Run JSON and History CSV download the run as it is, without adding a saved run
    saved_runs = page.request.get(f"{server_url}/api/runs").json()
    page.evaluate("document.getElementById('runs-menu').open = true")
    with page.expect_download() as download:
        page.click("#export-json")
    record = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "xor-e2e.json"
    assert record["config"]["data"]["name"] == "xor" and record["summary"]["iteration"] == iteration(page)
    page.evaluate("document.getElementById('runs-menu').open = true")  # a download's click closes it
    with page.expect_download() as download:
        page.click("#export-csv")
    assert Path(download.value.path()).read_text().startswith("iteration,epoch,learning_rate")
    assert page.request.get(f"{server_url}/api/runs").json() == saved_runs

    page.click(".dataset-tile[data-name='circle']")
    wait_ready(page)
    page.click("#runs-menu > summary")
    page.locator(".run-row", has_text="xor e2e").get_by_role("button", name="Load").click()
    page.wait_for_function("location.hash.includes('dataset=xor&')", timeout=TIMEOUT)
    # a loaded run carries on from its saved iteration, paused (docs/protocol.md `configure`)
    page.wait_for_function("document.getElementById('status').dataset.status === 'paused'", timeout=TIMEOUT)
    wait_painted(page)
    assert iteration(page) > 30
    # its saved cost history is on the curves, from before the iteration it carries on from
    page.wait_for_function(f"(document.getElementById('cost-plot').data?.[2]?.x || []).some((x) => x < {iteration(page)})",
                           timeout=TIMEOUT)
    assert page.console_errors == []


def test_disconnect_banner_and_reconnect(page, tmp_path):
    port = free_port()
    args = (tmp_path / "server.log", "--db", str(tmp_path / "r.sqlite3"), "--workers", "1")
    proc = start_server(port, *args)
    try:
        open_playground(page, f"http://127.0.0.1:{port}")
        stop_server(proc)
        banner = page.locator("#banner-disconnected")
        banner.wait_for(state="visible", timeout=TIMEOUT)
        assert "Reconnect now" in banner.inner_text()
        assert page.locator("#status").text_content() == "Connecting…"
        proc = start_server(port, *args)
        # the back-off may reconnect by itself first; otherwise the button does it at once
        page.evaluate("document.querySelector('#banner-disconnected button.btn-small')?.click()")
        banner.wait_for(state="hidden", timeout=TIMEOUT)
        wait_ready(page)
    finally:
        stop_server(proc)
