"""The CNN lab's convolution explorer (/cnn) in a real browser: every filter's output on the course's
6×6 example equals hand-worked numbers (read from the grids' data attributes), padding "same" keeps
6×6, stride 2 gives ⌊(6 + 0 − 3)/2⌋ + 1 = 2, hovering a cell writes out its sum of products, the
window steps and plays, drawing with the mouse changes the input, the hash round-trips and is
followed live, presenter mode and `<key>_hide=true` flags; each lesson's claim holds for its own
preset; nothing overlaps at the sizes a class uses (screenshots in test-artifacts/: look at them)."""
from __future__ import annotations

import json
import random
import urllib.parse

import pytest

from tests.e2e.helpers import TIMEOUT
from tests.e2e.layout import VIEWPORTS, layout_problems

EDGE = [[10, 10, 10, 0, 0, 0]] * 6
ZEROS = [[0] * 4] * 4
# hand-worked: a vertical filter's rows are (a, 0, −a); a window straddling the edge sees
# 10·a + 10·0 + 0·(−a) = 10a per row, so the output is 10·(sum of the left column) there, 0 elsewhere;
# a horizontal filter subtracts the bottom row from the top one, equal on this image: 0 everywhere
FILTER_OUTPUTS = {
    "vertical": [[0, 30, 30, 0]] * 4,    # 10·(1 + 1 + 1)
    "sobel_v": [[0, 40, 40, 0]] * 4,     # 10·(1 + 2 + 1)
    "scharr_v": [[0, 160, 160, 0]] * 4,  # 10·(3 + 10 + 3)
    "horizontal": ZEROS, "sobel_h": ZEROS, "scharr_h": ZEROS,
}


def open_cnn(page, server_url: str, hash_: str = "") -> None:
    page.goto(f"{server_url}/cnn{('#' + hash_) if hash_ else ''}")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=TIMEOUT)


def go(page, hash_: str) -> None:
    """Change the hash of the open page (the explorer follows it) and let it redraw."""
    page.evaluate("(h) => { location.hash = h; }", hash_)
    page.wait_for_function("(h) => document.body.dataset.followed === '#' + h", arg=hash_, timeout=TIMEOUT)


def grid(page, which: str = "out") -> list:
    return json.loads(page.get_attribute(f"#{which}-grid", "data-values"))


def hash_params(page) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).fragment, keep_blank_values=True))


def test_each_filter_on_the_edge_example(page, server_url):
    open_cnn(page, server_url)
    assert json.loads(page.get_attribute("#in-grid", "data-image")) == EDGE
    for name, expected in FILTER_OUTPUTS.items():
        go(page, f"input=edge&filter={name}&padding=valid&stride=1")
        assert grid(page) == expected, name
        assert page.get_attribute("#size-formula", "data-size") == "4"
    # a custom 1×1 filter (2) doubles every pixel and keeps the size; a 5×5 one leaves ⌊(6 − 5)/1⌋ + 1 = 2
    go(page, "input=edge&filter=custom&custom=2&padding=valid&stride=1")
    assert grid(page) == [[20, 20, 20, 0, 0, 0]] * 6
    box = ",".join(["1"] * 25)
    go(page, f"input=edge&filter=custom&custom={box}&padding=valid&stride=1")
    assert grid(page) == [[150, 100], [150, 100]]  # 5 rows of 10·3 (cols 0-2) and 10·2 (cols 1-2) beside them
    # the custom numbers are editable: a 3×3 grid of inputs starting from the filter shown
    go(page, "input=edge&filter=sobel_v&padding=valid&stride=1")
    page.select_option("#ctl-filter", "custom")
    assert hash_params(page)["custom"] == "1,0,-1,2,0,-2,1,0,-1"
    page.fill("#custom-filter input[data-k='4']", "5")
    page.wait_for_function("JSON.parse(document.getElementById('out-grid').dataset.values)[0][0] === 50")
    assert grid(page)[0] == [50, 90, 40, 0]  # the centre 5 weighs each window's middle pixel: 5·10 more where it is lit
    assert page.console_errors == []


def test_padding_same_and_stride(page, server_url):
    open_cnn(page, server_url, "input=edge&filter=vertical&padding=same&stride=1")
    out = grid(page)
    assert len(out) == 6 and all(len(row) == 6 for row in out)
    assert page.get_attribute("#in-grid", "data-padding") == "1" and len(grid(page, "in")) == 8
    assert "⌊(6 + 2·1 − 3)/1⌋ + 1 = 6" in page.text_content("#size-formula")
    assert "p = (f − 1)/2 = (3 − 1)/2 = 1" in page.text_content("#same-note")
    assert page.is_visible("#same-note")
    # "same" with a 5×5 filter pads 2
    go(page, "input=edge&filter=custom&custom=" + ",".join(["0"] * 12 + ["1"] + ["0"] * 12) + "&padding=same&stride=1")
    assert page.get_attribute("#in-grid", "data-padding") == "2" and grid(page) == EDGE
    assert "(5 − 1)/2 = 2" in page.text_content("#same-note")

    go(page, "input=edge&filter=vertical&padding=valid&stride=2")
    assert grid(page) == [[0, 30], [0, 30]]
    assert "⌊(6 + 2·0 − 3)/2⌋ + 1 = 2" in page.text_content("#size-formula")
    assert not page.is_visible("#same-note")
    go(page, "input=edge&filter=vertical&padding=2&stride=3")
    assert "⌊(6 + 2·2 − 3)/3⌋ + 1 = 3" in page.text_content("#size-formula") and len(grid(page)) == 3
    assert page.console_errors == []


def test_the_arithmetic_matches_a_reference(page, server_url):
    """conv.js (imported in the page) against a direct Python loop on random images and settings."""
    open_cnn(page, server_url)
    rng = random.Random(5)
    for _ in range(12):
        n, f, s = rng.choice([6, 7, 8]), rng.choice([1, 3, 5]), rng.choice([1, 2, 3])
        p = rng.choice([0, 1, 2])
        image = [[rng.randint(-9, 9) for _ in range(n)] for _ in range(n)]
        filt = [[rng.randint(-3, 3) for _ in range(f)] for _ in range(f)]
        padded = [[0] * (n + 2 * p) for _ in range(p)] + [[0] * p + row + [0] * p for row in image] + [[0] * (n + 2 * p) for _ in range(p)]
        size = (n + 2 * p - f) // s + 1
        expected = [[sum(padded[i * s + a][j * s + b] * filt[a][b] for a in range(f) for b in range(f)) for j in range(size)] for i in range(size)]
        got = page.evaluate("""async ([image, filt, p, s]) => {
            const conv = await import('/static/js/cnn/conv.js');
            return conv.convolve(image, filt, { padding: p, stride: s }).output; }""", [image, filt, p, s])
        assert got == expected, (n, f, p, s)
        pooled = page.evaluate("""async ([m]) => (await import('/static/js/cnn/conv.js')).pool(m, 'max', 2, 2).output""", [expected])
        k = (size - 2) // 2 + 1
        assert pooled == [[max(expected[2 * i + a][2 * j + b] for a in range(2) for b in range(2)) for j in range(k)] for i in range(k)]


def test_hover_shows_the_sum_of_products_and_the_window(page, server_url):
    open_cnn(page, server_url, "input=edge&filter=vertical&padding=valid&stride=1&pool=max&pool_f=2&pool_s=2")
    page.hover("#out-grid .cnn-cell[data-r='0'][data-c='1']")
    page.wait_for_function("document.getElementById('sum-text').dataset.cell === '0,1'")
    row = "10·1 + 10·0 + 0·(−1)"
    assert page.text_content("#sum-text") == f"{row} + {row} + {row} = 30"
    window = page.eval_on_selector("#in-figure .cnn-window", "(el) => [el.hidden, el.style.getPropertyValue('--r'), el.style.getPropertyValue('--c')]")
    assert window == [False, "0", "1"]
    page.hover("#out-grid .cnn-cell[data-r='3'][data-c='3']")
    page.wait_for_function("document.getElementById('sum-text').dataset.cell === '3,3'")
    assert page.text_content("#sum-text").endswith("0·1 + 0·0 + 0·(−1) = 0")
    # a pooled cell: its max written out, its window outlined on the convolution's output
    page.hover("#pool-grid .cnn-cell[data-r='0'][data-c='1']")
    page.wait_for_function("document.getElementById('sum-text').dataset.cell === 'pool 0,1'")
    assert page.text_content("#sum-text") == "max(30, 0, 30, 0) = 30"
    assert page.eval_on_selector("#out-figure .cnn-window", "(el) => [el.hidden, el.style.getPropertyValue('--c')]") == [False, "2"]
    assert page.console_errors == []


def test_window_steps_and_plays(page, server_url):
    open_cnn(page, server_url, "input=edge&filter=vertical&padding=valid&stride=1&speed=8")
    assert page.text_content("#window-count") == "16 / 16"  # everything computed at first
    page.click("#step")
    assert page.text_content("#window-count") == "1 / 16"
    assert page.get_attribute("#sum-text", "data-cell") == "0,0"
    assert page.eval_on_selector_all("#out-grid .cnn-cell.pending", "(els) => els.length") == 15
    page.click("#step")
    assert page.get_attribute("#sum-text", "data-cell") == "0,1"
    assert page.eval_on_selector("#in-figure .cnn-window", "(el) => el.style.getPropertyValue('--c')") == "1"
    page.click("#play")
    page.wait_for_function("document.getElementById('window-count').textContent.startsWith('5 /')", timeout=TIMEOUT)
    page.click("#play")  # pause
    shown = page.text_content("#window-count")
    page.wait_for_timeout(400)
    assert page.text_content("#window-count") == shown and page.get_attribute("#status", "data-status") == "paused"
    page.click("#reset")
    assert page.text_content("#window-count") == "1 / 16"
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#sum-text", "data-cell") == "0,1"
    assert page.console_errors == []


def test_drawing_with_the_mouse_changes_the_input(page, server_url):
    open_cnn(page, server_url, "input=drawn&filter=vertical&padding=valid&stride=1")
    page.click("#clear-drawing")
    assert all(v == 0 for row in json.loads(page.get_attribute("#in-grid", "data-image")) for v in row)
    before = hash_params(page)["drawing"]
    cell = lambda r, c: page.locator(f"#in-grid .cnn-cell[data-r='{r}'][data-c='{c}']").bounding_box()  # noqa: E731
    start, end = cell(2, 5), cell(12, 5)
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(start["x"] + start["width"] / 2, start["y"] + (end["y"] - start["y"]) * k / 10 + start["height"] / 2)
    page.mouse.up()
    image = json.loads(page.get_attribute("#in-grid", "data-image"))
    assert [image[r][5] for r in range(2, 13)] == [10] * 11 and sum(map(sum, image)) == 110
    assert hash_params(page)["drawing"] != before
    # the output sees the stroke: a vertical line is two edges, dark (−30) where the window has it
    # on its right column, bright (30) where on its left one
    out = grid(page)
    assert out[5][3] == -30 and out[5][5] == 30 and out[5][4] == 0
    # a stroke starting on a lit pixel erases
    page.mouse.click(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    assert json.loads(page.get_attribute("#in-grid", "data-image"))[2][5] == 0
    assert page.console_errors == []


def test_hash_round_trips_and_is_followed_live(page, server_url):
    drawing = "0000" * 4 + "0ff0" * 8 + "0000" * 4
    hash_ = (f"input=digit&digit=7&drawing={drawing}&filter=custom&custom=0,1,0,1,-4,1,0,1,0&padding=2&stride=2"
             "&pool=avg&pool_f=3&pool_s=1&nc=3&filters=8&speed=4&lesson=&presenter=0"
             "&net=lenet&dataset=shapes&optimizer=rmsprop&alpha=0.01&l2=0.5&keep_prob=0.8&batch_norm=1"
             "&batch_size=64&init=xavier&seed=7&example=3")  # the Live ConvNet's keys after the explorer's
    open_cnn(page, server_url, hash_)
    assert urllib.parse.urlsplit(page.url).fragment == hash_
    shown = page.evaluate("""() => ['filter', 'padding', 'stride', 'pool', 'pool_f', 'pool_s', 'digit', 'speed', 'nc', 'filters']
        .map((k) => document.getElementById('ctl-' + k).value)""")
    assert shown == ["custom", "2", "2", "avg", "3", "1", "7", "4", "3", "8"]
    assert page.get_attribute("#input-digit", "aria-checked") == "true"
    assert page.eval_on_selector_all("#custom-filter input", "(els) => els.map((e) => e.value)") == ["0", "1", "0", "1", "-4", "1", "0", "1", "0"]
    assert len(grid(page, "in")) == 12 and len(grid(page)) == 5 and len(grid(page, "pool")) == 3  # ⌊(8+4−3)/2⌋+1, ⌊(5−3)/1⌋+1
    # a change in the page writes the hash; a hash typed into the open tab is followed
    page.select_option("#ctl-stride", "1")
    assert hash_params(page)["stride"] == "1"
    go(page, "input=edge&filter=vertical&padding=valid&stride=1&pool=none")
    assert grid(page) == FILTER_OUTPUTS["vertical"] and not page.is_visible("#pool-figure")
    assert page.get_attribute("#input-edge", "aria-checked") == "true" and page.input_value("#ctl-filter") == "vertical"
    # an invalid value keeps the default
    go(page, "input=edge&filter=nonsense&stride=9")
    assert page.input_value("#ctl-filter") == "vertical" and page.input_value("#ctl-stride") == "1"
    assert page.console_errors == []


def test_presenter_mode_and_hide_flags(page, server_url):
    open_cnn(page, server_url, "input=edge")
    size = lambda: page.eval_on_selector("#lesson-text", "(el) => parseFloat(getComputedStyle(el).fontSize)")  # noqa: E731
    normal = size()
    page.click("#presenter")
    assert page.evaluate("document.documentElement.classList.contains('presenter')")
    assert hash_params(page)["presenter"] == "1"
    assert size() >= 1.5 * normal
    go(page, "input=edge&presenter=0&filter_hide=true&padding_hide=true&transport_hide=true&lessons_hide=true&params_hide=true")
    assert not page.evaluate("document.documentElement.classList.contains('presenter')")
    for hidden in ("#ctl-filter", "#ctl-padding", "#play", "#lesson-button", "#ctl-nc"):
        assert not page.is_visible(hidden), hidden
    for shown in ("#ctl-stride", "#ctl-pool", "#input-edge", "#presenter", "#out-grid"):
        assert page.is_visible(shown), shown
    assert "filter_hide=true" in page.url  # the flags stay in the hash
    page.select_option("#ctl-stride", "2")
    assert "filter_hide=true" in page.url
    assert page.console_errors == []


def lesson(page, lesson_id: str) -> None:
    page.click("#lesson-button")
    page.click(f".menu-item[data-lesson='{lesson_id}']")
    page.wait_for_function("(id) => document.getElementById('lesson-card').dataset.lesson === id", arg=lesson_id)


def test_each_lessons_claim_holds_for_its_preset(page, server_url):
    open_cnn(page, server_url, "input=digit&filter=scharr_h&padding=same&stride=3")
    lesson(page, "edges")
    assert hash_params(page)["lesson"] == "edges"
    assert grid(page) == [[0, 30, 30, 0]] * 4
    assert "0 30 30 0" in page.text_content("#lesson-text")
    page.select_option("#ctl-filter", "horizontal")
    assert grid(page) == ZEROS
    assert page.is_visible("#lesson-back")  # the settings left the lesson's
    page.click("#lesson-back")
    page.wait_for_function("JSON.parse(document.getElementById('out-grid').dataset.values)[0][1] === 30")

    lesson(page, "padding")
    out = grid(page)
    assert len(out) == 6 and [row[0] for row in out] == [-20, -30, -30, -30, -30, -20]
    assert "⌊(6 + 2·1 − 3)/1⌋ + 1 = 6" in page.text_content("#lesson-text")

    lesson(page, "stride")
    assert grid(page) == [[0, 30], [0, 30]]
    assert "⌊(6 + 0 − 3)/2⌋ + 1 = 2" in page.text_content("#lesson-text")

    lesson(page, "pooling")
    assert grid(page) == [[0, 30, 30, 0]] * 4 and grid(page, "pool") == [[30, 30], [30, 30]]
    assert page.get_attribute("#params-pool", "data-count") == "0" and page.is_visible("#params-pool")
    page.select_option("#ctl-pool", "avg")
    assert grid(page, "pool") == [[15, 15], [15, 15]]

    lesson(page, "sharing")
    assert page.get_attribute("#params-conv", "data-count") == "280"
    assert page.get_attribute("#params-dense", "data-count") == "1507240"
    assert "280" in page.text_content("#lesson-text") and "1,507,240" in page.text_content("#lesson-text")
    assert "3·3·3·10 + 10" in page.text_content("#params-conv")
    assert page.console_errors == []


def test_the_other_pages_link_here(page, server_url):
    for path in ("/", "/lab"):
        page.goto(server_url + path)
        link = page.locator("#cnn-link")
        link.wait_for(timeout=TIMEOUT)
        assert link.get_attribute("href") == "/cnn" and link.is_visible()
    page.click("#cnn-link")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=TIMEOUT)
    assert page.url.split("#")[0].endswith("/cnn")


SETTINGS = {  # name -> hash
    "edge": "input=edge&filter=vertical&padding=valid&stride=1&pool=none",
    "drawn 5×5 same + pool": "input=drawn&filter=custom&custom=" + ",".join(["1", "2", "0", "-1", "-2"] * 5) + "&padding=same&stride=1&pool=max&pool_f=2&pool_s=2",
    "digit + pool, window": "input=digit&digit=5&filter=sobel_h&padding=same&stride=1&pool=avg&pool_f=2&pool_s=2",
    "lesson sharing": "input=drawn&filter=vertical&padding=valid&stride=1&pool=none&nc=3&filters=10&lesson=sharing",
}


@pytest.mark.parametrize("viewport", ["1024x768", "1280x800", "1920x1080"])
def test_layout_holds(page, server_url, artifacts, viewport):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    open_cnn(page, server_url)
    found = {}
    for presenter in (False, True):
        for name, hash_ in SETTINGS.items():
            go(page, hash_ + ("&presenter=1" if presenter else ""))
            if name == "digit + pool, window":  # the window and a current cell drawn mid-way
                page.click("#reset")
                for _ in range(10):
                    page.click("#step")
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(150)
            problems = layout_problems(page)
            if problems:
                found[f"{viewport} {'presenter' if presenter else 'normal'} {name}"] = problems
            if viewport in ("1280x800", "1920x1080") and name in ("edge", "drawn 5×5 same + pool"):
                tag = "presenter" if presenter else "normal"
                page.screenshot(path=str(artifacts / f"cnn-{viewport}-{tag}-{name.split()[0]}.png"))
        page.click("#lesson-button")  # the lessons menu, open over the page
        page.wait_for_selector(".menu-item[data-lesson='sharing']", state="visible")
        problems = layout_problems(page)
        if problems:
            found[f"{viewport} {'presenter' if presenter else 'normal'} lessons menu"] = problems
        page.click("#lesson-button")
    assert found == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
    assert page.console_errors == []
