"""The optimizer lab's lessons and classroom controls in a real browser: the presets menu (GET
/api/lab/presets) lists the seven lessons and loads one into the racers and the hash; presenter
mode enlarges the type and hides secondary controls; `lr_hide=true` hides every α; editing the hash
of an open tab reconfigures the lab; every diverged racer keeps its banner; the convergence plot
has one point per step; dragging α replays the whole path (same number of points, other points)."""
from __future__ import annotations

import json
import urllib.parse

from tests.e2e.helpers import TIMEOUT, lab_points as points, lab_steps as steps, open_lab, race_then_pause

PRESET_IDS = ["default", "gd-zigzag", "momentum", "rmsprop", "adam", "too-large-alpha", "normalize"]


def hash_params(page) -> list:
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).fragment)


def racer_names(page) -> list:
    return page.eval_on_selector_all("#results tbody th", "(ths) => ths.map((th) => th.textContent.trim())")


def test_presets_menu_lists_the_lessons_and_loads_one(page, server_url):
    open_lab(page, server_url)
    page.wait_for_function("document.querySelectorAll('#preset-menu .menu-item').length === 7", timeout=TIMEOUT)
    served = page.evaluate("fetch('/api/lab/presets').then((r) => r.json())")
    assert [p["id"] for p in served["presets"]] == PRESET_IDS
    items = page.eval_on_selector_all("#preset-menu .menu-item", """(bs) => bs.map((b) => ({id: b.dataset.preset,
        title: b.querySelector('.menu-item-title').textContent, lesson: b.querySelector('.menu-item-sub').textContent}))""")
    assert [(i["id"], i["title"], i["lesson"]) for i in items] == [(p["id"], p["title"], p["lesson"]) for p in served["presets"]]
    # a URL without a hash is the server's "default" preset
    default = served["presets"][0]
    assert len(racer_names(page)) == len(default["state"]["optimizers"])
    assert ("opt", f"gd,lr:{default['state']['optimizers'][0]['learning_rate']}") in hash_params(page)
    assert page.text_content("#lesson-title") == default["title"]

    page.click("#preset-button")
    assert page.is_visible(".menu-item[data-preset='momentum']")
    page.click(".menu-item[data-preset='momentum']")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 3", timeout=TIMEOUT)
    assert racer_names(page) == ["GD", "Momentum", "Nesterov"]
    params = hash_params(page)
    assert ("preset", "momentum") in params and ("rotation", "0") in params
    assert [v.split(",")[0] for k, v in params if k == "opt"] == ["gd", "momentum", "nesterov"]
    assert page.text_content("#lesson-title") == "Momentum damps the zig-zag"
    page.wait_for_function("Object.keys(JSON.parse(document.getElementById('race-plot').dataset.points || '{}')).length === 3", timeout=TIMEOUT)
    assert page.console_errors == []


def test_presenter_mode_and_hidden_controls(page, server_url):
    open_lab(page, server_url, "surface=quadratic&opt=gd,lr:0.03&opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1&lr_hide=true")
    # lr_hide: every α control is gone, the rest stays
    assert not page.is_visible("#opt-o1-lr") and not page.is_visible("#opt-o2-lr-text")
    assert page.is_visible("#opt-o1-name") and page.is_visible("#opt-o2-beta1")
    size = lambda sel: page.eval_on_selector(sel, "(el) => parseFloat(getComputedStyle(el).fontSize)")  # noqa: E731
    normal = {sel: size(sel) for sel in ("#lesson-text", "#results tbody td", "#h-surface")}
    assert page.is_visible("#ctl-tol") and page.is_visible("#opt-o2-epsilon")

    page.click("#presenter")
    page.wait_for_function("document.documentElement.classList.contains('presenter')")
    assert ("presenter", "1") in hash_params(page) and ("lr_hide", "true") in hash_params(page)
    for sel, before in normal.items():
        assert size(sel) >= 1.5 * before, (sel, before, size(sel))
    # secondary controls hidden in presenter mode
    assert not page.is_visible("#ctl-tol") and not page.is_visible("#opt-o2-epsilon") and not page.is_visible("#opt-o2-bc")
    assert page.is_visible("#opt-o2-beta1")
    page.click("#presenter")
    page.wait_for_function("!document.documentElement.classList.contains('presenter')")
    assert page.is_visible("#ctl-tol")

    # a link's own presenter flag
    open_lab(page, server_url, "surface=saddle&presenter=1")
    assert page.evaluate("document.documentElement.classList.contains('presenter')")
    assert page.get_attribute("#presenter", "aria-pressed") == "true"
    assert size("#lesson-text") >= 1.5 * normal["#lesson-text"]
    assert page.console_errors == []


def test_editing_the_hash_of_an_open_tab_reconfigures_the_lab(page, server_url):
    open_lab(page, server_url, "surface=quadratic&condition=50&tol=0.0001&opt=gd,lr:0.03")
    assert page.input_value("#opt-o1-lr-text") == "0.03"
    page.evaluate("location.hash = 'surface=rosenbrock&tol=1e-12&opt=adam,lr:0.3,b1:0.9,b2:0.999,eps:1e-8,bc:1&opt=gd,lr:0.002'")
    page.wait_for_function("document.getElementById('plot-caption').textContent.includes('100 (w₂')", timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 2", timeout=TIMEOUT)
    assert racer_names(page) == ["Adam", "GD"]
    assert page.get_attribute("#surface-rosenbrock", "aria-checked") == "true"
    # a tolerance that is not one of the menu's is shown as it is
    assert page.eval_on_selector("#ctl-tol", "(el) => el.options[el.selectedIndex].textContent") == "J − J* < 1e-12"
    page.evaluate("location.hash = 'surface=quadratic&condition=80&opt=gd,lr:0.01'")
    page.wait_for_function("document.getElementById('plot-caption').textContent.includes('κ = 80')", timeout=TIMEOUT)
    page.wait_for_function("document.getElementById('opt-o1-lr-text').value === '0.01'", timeout=TIMEOUT)
    assert racer_names(page) == ["GD"]
    assert page.console_errors == []


def test_every_diverged_racer_keeps_its_banner(page, server_url):
    open_lab(page, server_url)
    page.wait_for_function("document.querySelectorAll('#preset-menu .menu-item').length === 7", timeout=TIMEOUT)
    page.click("#preset-button")
    page.click(".menu-item[data-preset='too-large-alpha']")
    page.wait_for_function("document.getElementById('lesson-title').textContent === 'Too large α diverges'", timeout=TIMEOUT)
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'", timeout=TIMEOUT)
    page.click("#play")
    page.wait_for_selector("#banner-diverged-o1", timeout=TIMEOUT)
    assert "GD 1 diverged" in page.text_content("#banner-diverged-o1")
    # the other GD converges and the race ends (a race changed while running would go on running)
    page.wait_for_function("document.getElementById('status').dataset.status === 'done'", timeout=2 * TIMEOUT)

    # three racers blow up: three banners, all in view
    page.evaluate("location.hash = 'surface=quadratic&condition=50&rotation=30&speed=5'"
                  " + '&opt=gd,lr:0.06&opt=gd,lr:0.08&opt=momentum,lr:1.5,b:0.9&opt=adam,lr:0.1,b1:0.9,b2:0.999,eps:1e-8,bc:1'")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 4", timeout=TIMEOUT)
    assert not page.is_visible("#banner-diverged-o1")  # the new race took the old banner away
    page.wait_for_function("document.getElementById('status').dataset.status === 'ready'", timeout=TIMEOUT)
    page.click("#play")
    page.wait_for_function("document.querySelectorAll('.banner-diverged').length === 3", timeout=TIMEOUT)
    for racer, name in (("o1", "GD 1"), ("o2", "GD 2"), ("o3", "Momentum")):
        assert page.is_visible(f"#banner-diverged-{racer}")
        assert page.text_content(f"#banner-diverged-{racer}").startswith(f"{name} diverged at step")
    assert not page.is_visible("#banner-diverged-o4")
    page.wait_for_function("document.getElementById('status').dataset.status === 'done'", timeout=2 * TIMEOUT)
    page.click("#reset")  # every path back to the start: no divergence left
    page.wait_for_function("document.querySelectorAll('.banner-diverged').length === 0", timeout=TIMEOUT)
    page.wait_for_timeout(300)
    assert page.eval_on_selector_all(".banner-diverged", "(bs) => bs.length") == 0
    assert page.console_errors == []


def test_convergence_plot_has_a_point_per_step(page, server_url):
    open_lab(page, server_url, "surface=quadratic&condition=50&tol=1e-12&speed=5&opt=gd,lr:0.02&opt=momentum,lr:0.02,b:0.9")
    race_then_pause(page, 120)
    n = steps(page)
    conv = json.loads(page.get_attribute("#convergence-plot", "data-points"))
    assert conv == points(page) == {"o1": n + 1, "o2": n + 1}  # the start and every step
    # and they are drawn: the canvas over the chart has each racer's colour
    painted = page.evaluate("""() => { const c = document.querySelector('#convergence-plot canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 200) n += 1; return n; }""")
    assert painted > 200
    assert page.console_errors == []


def test_dragging_alpha_replays_the_whole_path(page, server_url):
    open_lab(page, server_url, "surface=quadratic&condition=50&rotation=30&tol=1e-12&speed=5&opt=gd,lr:0.035&opt=momentum,lr:0.035,b:0.9")
    race_then_pause(page, 60)
    before = page.evaluate("window.nnLab.paths()")
    count = points(page)

    box = page.locator("#opt-o1-lr").bounding_box()
    at = (-1.456 + 6) / 7  # log10(0.035) on the slider's −6..1
    x = box["x"] + 8 + (box["width"] - 16) * at
    y = box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in range(0, 41, 4):
        page.mouse.move(x - dx, y)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_function("document.getElementById('opt-o1-lr-text').value !== '0.035'")
    lr = float(page.input_value("#opt-o1-lr-text"))
    assert lr < 0.035
    page.wait_for_function(f"document.querySelector('#results tr[data-id=\"o1\"] td').textContent === {json.dumps(page.input_value('#opt-o1-lr-text'))}",
                           timeout=TIMEOUT)
    page.wait_for_timeout(500)
    after = page.evaluate("window.nnLab.paths()")
    assert points(page) == count  # the same steps, recomputed: nothing appended, nothing lost
    assert after["o1"][0] == before["o1"][0] and after["o1"][1:] != before["o1"][1:]
    assert after["o2"] == before["o2"]  # the other racer is untouched
    assert ("opt", f"gd,lr:{lr:g}") in hash_params(page) or any(v.startswith(f"gd,lr:{page.input_value('#opt-o1-lr-text')}") for k, v in hash_params(page))
    assert page.console_errors == []
