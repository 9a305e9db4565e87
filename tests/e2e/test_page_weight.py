"""Page weight (issue #11): the bytes a first visit to / and /lab actually moves over the network
(Chromium's own count, CDP Network.loadingFinished encodedDataLength: headers and compressed
bodies, websocket frames not included) stay under 1.5 MB, and a reload in the same browser moves
far less (plotly.js from the cache without a request, our own files revalidated: 304)."""
from __future__ import annotations

import pytest

FIRST_LOAD_LIMIT = 1_500_000  # bytes
RELOAD_LIMIT = 150_000


class Traffic:
    """Bytes received per request of one page, as Chromium counts them."""

    def __init__(self, context, page):
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        self.cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
        self.cdp.send("Network.enable")

    def take(self) -> dict[str, int]:
        """{url: bytes} since the last take (a URL fetched twice counts twice, summed)."""
        out: dict[str, int] = {}
        for rid, size in self.sizes.items():
            url = self.urls.get(rid, rid)
            out[url] = out.get(url, 0) + int(size)
        self.sizes = {}
        return out


def settle(page) -> None:
    """Until the network is quiet (the page's API calls after load included)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def describe(sizes: dict[str, int]) -> str:
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    return f"{sum(sizes.values())} bytes in {len(sizes)} responses; largest: " + \
        ", ".join(f"{url.split('/', 3)[-1]} {n}" for url, n in biggest)


@pytest.mark.parametrize("path", ["/", "/lab"])
def test_first_load_is_small_and_a_reload_uses_the_cache(browser, server_url, path):
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # its own, cold HTTP cache
    try:
        page = context.new_page()
        traffic = Traffic(context, page)
        page.goto(server_url + path, wait_until="load")
        settle(page)
        first = traffic.take()
        print(f"\nfirst load of {path}: {describe(first)}")
        plotly = [url for url in first if "plotly" in url]
        assert plotly and all("/static/vendor/plotly-" in url for url in plotly), plotly  # the versioned URL
        assert sum(first.values()) < FIRST_LOAD_LIMIT, describe(first)

        page.reload(wait_until="load")
        settle(page)
        again = traffic.take()
        print(f"reload of {path}: {describe(again)}")
        # plotly.js comes from the cache without a request (a 304 would move its headers)
        assert all(n == 0 for url, n in again.items() if "plotly" in url), describe(again)
        assert sum(again.values()) < RELOAD_LIMIT, describe(again)
        assert sum(again.values()) < sum(first.values()) / 10, (describe(first), describe(again))
    finally:
        context.close()
