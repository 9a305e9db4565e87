"""The bias/variance card in the browser: no verdict at load, the run's state after training
(engine/diagnosis.py diagnose_run decides, static/js/panels/cards.js shows it)."""
from __future__ import annotations

from tests.e2e.helpers import TIMEOUT, open_playground, wait_iteration_above

STATE = "document.getElementById('verdict').dataset.state"


def _text(page, id_: str) -> str:
    return page.locator(f"#{id_}").text_content()


def _train_until_state(page, states: tuple[str, ...]) -> str:
    page.click("#play")
    page.wait_for_function(f"{list(states)}.includes({STATE})", timeout=TIMEOUT)
    page.click("#play")  # pause, so what we read stays put
    return page.evaluate(STATE)


def test_no_verdict_at_load_then_a_verdict_with_the_test_error(page, server_url, artifacts):
    open_playground(page, server_url, "dataset=circle&split=0.6,0.2,0.2&optimizer=adam&learning_rate=0.03&hidden=8")
    assert "Still learning — no verdict yet" in _text(page, "verdict")
    assert "Press play" in _text(page, "diagnosis-message")
    assert _text(page, "advice") == "" and _text(page, "variance") == "–"
    assert page.locator("#test-row").is_visible()  # a test split exists: its error is shown
    assert "not for tuning" in _text(page, "test-row")
    state = _train_until_state(page, ("diagnosed",))
    assert state == "diagnosed"
    verdict = _text(page, "verdict")
    assert any(v in verdict.lower() for v in ("bias", "variance"))
    assert "no verdict" not in verdict and _text(page, "diagnosis-message")
    assert not _text(page, "variance").lstrip().startswith(("-", "−"))  # never a negative variance
    assert _text(page, "test-error").endswith("%")
    page.screenshot(path=str(artifacts / "diagnosis-card-diagnosed.png"))
    assert page.console_errors == []


def test_alpha_100_says_lower_the_learning_rate_not_bigger_network(page, server_url, artifacts):
    open_playground(page, server_url, "dataset=circle&optimizer=gd&learning_rate=100&batch_size=100000"
                                      "&activation=tanh&hidden=4,2")
    wait_iteration_above(page, -1)
    assert "no verdict" in _text(page, "verdict")
    assert _train_until_state(page, ("oscillating",)) == "oscillating"
    assert "Learning rate too large: lower α" in _text(page, "verdict")
    assert "bigger network" not in _text(page, "advice") and "lower the learning rate" in _text(page, "advice")
    assert "try ReLU" not in _text(page, "grad-note")  # the cause is α, not vanishing gradients
    page.screenshot(path=str(artifacts / "diagnosis-card-oscillating.png"))
    assert page.console_errors == []


def test_zero_init_tanh_is_a_dead_net(page, server_url):
    open_playground(page, server_url, "dataset=circle&optimizer=gd&learning_rate=0.5&batch_size=100000"
                                      "&activation=tanh&init=zeros&hidden=4,2")
    assert _train_until_state(page, ("dead",)) == "dead"
    assert "Dead network" in _text(page, "verdict")
    assert "bigger network" not in _text(page, "advice")
    assert "converged" not in _text(page, "grad-note")
    assert page.console_errors == []
