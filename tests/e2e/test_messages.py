"""What the page says in words: errors from the server (server/wording.py) in the banner and next
to the control, why a finished run stopped and what Play does then, a link value that does not
exist, and the test set's numbers when the split has a test part."""
from __future__ import annotations

from tests.e2e.helpers import TIMEOUT, open_playground


def test_unknown_dataset_in_the_link_is_named_with_the_allowed_names(page, server_url):
    open_playground(page, server_url, "dataset=foo")
    notice = page.locator("#banner-url").text_content()
    assert 'Dataset "foo" does not exist' in notice and "(circle)" in notice
    assert "circle, xor, gauss, spiral, moons, flower, multi_spiral" in notice


def test_sigmoid_output_on_three_classes_is_explained_at_the_control(page, server_url):
    page.goto(f"{server_url}/#dataset=multi_spiral&classes=3&output=sigmoid")
    page.wait_for_selector("#banner-error", timeout=TIMEOUT)
    text = page.locator("#banner-error").text_content()
    assert "The output layer is sigmoid but the data has 3 classes: choose softmax output" in text
    assert "TrainConfig" not in text and "network.output" not in text
    field = page.locator(".field[data-key='output']")
    assert "invalid" in field.get_attribute("class") and "Network → Output layer" in field.text_content()
    assert page.locator("#status").get_attribute("data-status") == "invalid"


def test_test_metrics_show_only_with_a_test_split(page, server_url):
    open_playground(page, server_url, "dataset=circle&split=0.6,0.2,0.2")
    page.click("#step")
    page.wait_for_function("!document.getElementById('test-metrics').hidden"
                           " && /cost \\d/.test(document.getElementById('test-values').textContent)", timeout=TIMEOUT)
    assert "accuracy" in page.locator("#test-values").text_content()
    assert "final unbiased estimate" in page.locator("#test-metrics").text_content()
    page.goto("about:blank")
    open_playground(page, server_url, "dataset=circle&split=0.8,0.2,0")
    page.click("#step")
    page.wait_for_function("Number(document.getElementById('iteration').textContent.replace(/,/g, '')) >= 1",
                           timeout=TIMEOUT)
    assert page.locator("#test-metrics").is_hidden()


def test_stopped_early_says_why_which_weights_and_what_play_does(page, server_url):
    open_playground(page, server_url, "dataset=spiral&n=200&noise=0.4&split=0.5,0.5,0&hidden=8,8"
                                      "&early_stopping=true&patience=3&speed=max&epochs=100000")
    page.click("#play")
    page.wait_for_function("document.getElementById('status').dataset.status === 'stopped_early'", timeout=60_000)
    banner = page.locator("#banner-finished")
    banner.wait_for(timeout=TIMEOUT)
    text = banner.text_content()
    assert "Stopped early at epoch" in text and "has not improved for 3 epochs" in text
    assert "the weights kept are those of epoch" in text and "Play starts again from iteration 0" in text
    assert "iteration 0" in page.locator("#play").get_attribute("title")
    assert page.locator("#play").get_attribute("aria-label") == "Start over from iteration 0"
    # what the page said: a new run from iteration 0 (seen in the counter, however fast it ends again)
    page.evaluate("""() => {
      const counter = document.getElementById('iteration');
      window.iterationsSeen = [];
      new MutationObserver(() => window.iterationsSeen.push(counter.textContent))
        .observe(counter, { childList: true, characterData: true, subtree: true });
    }""")
    page.click("#play")
    page.wait_for_function("window.iterationsSeen.some((t) => Number(t.replace(/,/g, '')) === 0)", timeout=TIMEOUT)


def test_ready_credits_leave_at_once_while_commands_wait_their_turn(page, server_url):
    """The page paces its commands to 50 a second (the server drops more than 60); a frame's
    `ready` is not paced with them, or a page could never draw more than 50 frames a second."""
    page.goto(f"{server_url}/healthz")  # a page of the server: the module import is same-origin
    sent = page.evaluate("""async () => {
      const { Connection, socketUrl } = await import('/static/js/socket.js');
      const conn = new Connection(socketUrl());
      await new Promise((resolve) => { conn.on('open', resolve); conn.connect(); });
      const wire = [];
      const send = conn.ws.send.bind(conn.ws);
      conn.ws.send = (text) => { wire.push(JSON.parse(text).type); send(text); };
      for (let i = 0; i < 60; i++) conn.send({ type: 'speed', steps_per_frame: 1 });
      conn.send({ type: 'ready' });
      const out = [...wire];
      conn.stop();
      return out;
    }""")
    assert sent.count("speed") == 50  # the other 10 wait for the next second
    assert sent[-1] == "ready"  # ... and the credit went out behind the first 50, not after them
