"""The CNN lab's Live ConvNet (/cnn, #cnn-train) in a real browser against the real server
(/ws/cnn): press train, the curves and every layer's feature maps draw, choosing an example
changes the maps, the dev confusion matrix sums to the dev set, misclassified thumbnails show;
the page's architectures are the ones the lesson tests train; the layout holds at 1280×800 and
1920×1080, normal and presenter (screenshots in test-artifacts/cnn-train-*.png: look at them)."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import TIMEOUT
from tests.e2e.layout import VIEWPORTS, layout_problems
from tests.server.test_cnn_lessons import ARCHITECTURES

HASH = "net=convnet&dataset=digits&optimizer=adam&alpha=0.003&batch_size=32&example=0"
SLOW = 60_000  # ms: a digits session's first configure imports scikit-learn in the worker


def open_cnn(page, server_url: str, hash_: str = HASH) -> None:
    page.goto(f"{server_url}/cnn#{hash_}")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=TIMEOUT)
    page.wait_for_function("document.querySelector('#cnn-train').dataset.iteration !== undefined", timeout=SLOW)


def iteration(page) -> int:
    return int(page.get_attribute("#cnn-train", "data-iteration"))


def test_train_draws_curves_maps_confusion_and_an_example_can_be_chosen(page, server_url):
    open_cnn(page, server_url)
    assert page.is_visible("#cnn-train")
    layers = page.eval_on_selector_all("#train-layers .cnn-layer", "(els) => els.map((e) => [e.dataset.layer, e.dataset.type])")
    assert layers == [["1", "conv"], ["2", "pool"], ["4", "dense"]]
    params = page.eval_on_selector_all("#train-params tbody tr", "(els) => els.map((e) => [e.dataset.params, e.dataset.dense])")
    assert params[0] == ["80", "33280"] and params[-1] == ["4538", "103402"]  # the total row

    page.click("#train-play")
    page.wait_for_function("Number(document.querySelector('#cnn-train').dataset.iteration) > 60", timeout=SLOW)
    page.click("#train-play")  # pause
    page.wait_for_function("document.querySelector('#cnn-train').dataset.status === 'paused'", timeout=TIMEOUT)
    assert int(page.get_attribute("#train-cost", "data-points")) >= 2
    assert page.eval_on_selector("#train-cost", "(el) => el.querySelectorAll('.scatterlayer .trace').length") == 2
    # the lines are drawn (a path through several points), not only the traces' data
    for plot in ("#train-cost", "#train-accuracy"):
        paths = page.eval_on_selector_all(f"{plot} .scatterlayer .trace path.js-line", "(els) => els.map((p) => p.getAttribute('d') || '')")
        assert len(paths) == 2 and all(d.count("L") >= 1 for d in paths), (plot, paths)
    assert page.eval_on_selector_all(".cnn-maps[data-layer='1'] canvas", "(els) => els.map((c) => [c.width, c.height])") == [[8, 8]] * 8
    assert page.eval_on_selector_all(".cnn-maps[data-layer='2'] canvas", "(els) => els.map((c) => [c.width, c.height])") == [[4, 4]] * 8
    assert page.eval_on_selector_all(".cnn-filters[data-layer='1'] canvas", "(els) => els.length") == 8
    assert page.eval_on_selector_all(".cnn-maps[data-layer='4'] canvas", "(els) => els.map((c) => c.width)") == [32]
    assert int(page.get_attribute("#train-confusion", "data-total")) == 269
    counts = page.eval_on_selector_all("#train-confusion td", "(els) => els.map((e) => Number(e.dataset.count))")
    assert len(counts) == 100 and sum(counts) == 269
    wrong = int(page.get_attribute("#train-wrong", "data-count"))
    assert page.eval_on_selector_all("#train-wrong .cnn-wrong-thumb", "(els) => els.length") == min(wrong, 12)

    before = page.eval_on_selector(".cnn-maps[data-layer='1'] canvas", "(c) => c.toDataURL()")
    page.click("#train-gallery [data-index='5']")
    page.wait_for_function("document.querySelector('#train-prediction').dataset.example === '5'", timeout=TIMEOUT)
    assert page.get_attribute("#train-gallery [data-index='5']", "aria-selected") == "true"
    assert page.get_attribute("#train-prediction", "data-label") == page.get_attribute("#train-gallery [data-index='5']", "data-label")
    assert page.eval_on_selector(".cnn-maps[data-layer='1'] canvas", "(c) => c.toDataURL()") != before
    assert "example=5" in page.url
    assert page.console_errors == []


def test_the_page_trains_the_lesson_tests_architectures(page, server_url):
    open_cnn(page, server_url)
    page_archs = page.evaluate("async () => (await import('/static/js/cnn/train/presets.js')).ARCHITECTURES")
    assert {k: {key: v[key] for key in ("layers", "hidden") if key in v} for k, v in page_archs.items()} == ARCHITECTURES


def test_a_live_change_and_a_new_architecture(page, server_url):
    open_cnn(page, server_url)
    page.select_option("#train-net", "onebyone")  # restarts: a new session with its layers
    page.wait_for_function("document.querySelectorAll('#train-layers .cnn-layer').length === 4", timeout=SLOW)
    shapes = page.eval_on_selector_all("#train-params tbody tr td:nth-child(2)", "(els) => els.map((e) => e.textContent)")
    assert shapes[:2] == ["8×8×16", "8×8×4"]
    assert page.get_attribute("#train-params tbody tr[data-layer='2']", "data-params") == "68"
    assert "net=onebyone" in page.url
    page.fill("#train-alpha", "0.01")
    page.press("#train-alpha", "Enter")
    page.wait_for_function("location.hash.includes('alpha=0.01')", timeout=TIMEOUT)
    assert page.is_hidden("#train-error"), page.inner_text("#train-error")
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", ["1280x800", "1920x1080"])
def test_layout_holds_while_training(page, server_url, artifacts, viewport):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    found = {}
    for presenter in (False, True):
        open_cnn(page, server_url, HASH + ("&presenter=1" if presenter else ""))
        page.click("#train-play")
        page.wait_for_function("Number(document.querySelector('#cnn-train').dataset.iteration) > 40", timeout=SLOW)
        page.click("#train-play")
        page.wait_for_function("document.querySelector('#cnn-train').dataset.status === 'paused'", timeout=TIMEOUT)
        page.wait_for_timeout(300)
        page.eval_on_selector("#cnn-train", "(el) => el.scrollIntoView()")
        page.wait_for_timeout(150)
        problems = layout_problems(page, "#cnn-train")
        tag = "presenter" if presenter else "normal"
        if problems:
            found[f"{viewport} {tag}"] = problems
        page.screenshot(path=str(artifacts / f"cnn-train-{viewport}-{tag}.png"))
        page.screenshot(path=str(artifacts / f"cnn-train-{viewport}-{tag}-full.png"), full_page=True)
    assert found == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
    assert page.console_errors == []


def test_training_lessons_set_their_presets(page, server_url):
    open_cnn(page, server_url)

    def lesson(lesson_id: str) -> None:
        page.click("#lesson-button")
        page.click(f".menu-item[data-lesson='{lesson_id}']")
        page.wait_for_function("(id) => document.getElementById('lesson-card').dataset.lesson === id", arg=lesson_id)

    lesson("one_by_one")
    page.wait_for_function("document.querySelector('#train-params tbody tr[data-layer=\"2\"]')?.dataset.params === '68'", timeout=SLOW)
    assert "1×1 convolution" in page.text_content("#lesson-title")
    lesson("residual")
    page.wait_for_function("document.querySelectorAll('#train-layers .cnn-layer[data-type=\"residual\"]').length === 6", timeout=SLOW)
    assert [page.input_value(f"#train-{k}") for k in ("optimizer", "alpha", "init", "batch_size")] == ["gd", "0.1", "xavier", "64"]
    page.select_option("#train-net", "plain")  # the same 13 convs without the skips (15 layers: within the limits)
    page.wait_for_function("document.querySelectorAll('#train-layers .cnn-layer[data-type=\"conv\"]').length === 13", timeout=SLOW)
    assert page.is_hidden("#train-error"), page.inner_text("#train-error")
    lesson("sharing_trained")
    page.wait_for_function("document.querySelector('#train-params tbody tr[data-layer=\"1\"]')?.dataset.dense === '33280'", timeout=SLOW)
    lesson("edges")  # an explorer lesson keeps the Live ConvNet's settings
    assert "net=convnet" in page.url and "alpha=0.003" in page.url
    assert page.console_errors == []
