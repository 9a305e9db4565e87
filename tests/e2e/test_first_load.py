"""The first load of each page moves < 1.5 MB when the browser offers only gzip (issue #11).

Chromium offers brotli only on https and localhost; over plain http to another machine (a class on
the school's network) it sends `Accept-Encoding: gzip, deflate`. So this test serves the real
server on a non-loopback address of this machine (eth0's), and Chromium offers gzip by itself; where
the machine has none, it forces the header instead. Bytes are Chromium's own count (CDP
Network.loadingFinished encodedDataLength: headers and compressed bodies; websocket frames not
included), in a fresh context (cold HTTP cache), until the network is quiet.

The gzip bodies of plotly.js and of our own JS and CSS are zopfli's (server/precompress.py), made
in the background at startup: the test makes them first (the server then finds them in the cache
directory) and waits until the server sends them before it opens a page.
"""
from __future__ import annotations

import fcntl
import socket
import struct
import subprocess
import sys
import urllib.request

import pytest

from server import precompress, static_files
from tests.live_server import ROOT, free_port, stop_process, wait_until

LIMIT = 1_500_000  # bytes
GZIP_ONLY = "gzip, deflate"  # what Chromium sends over http to another host
# plotly.js's 1.413 MB leaves each page 87 KB: the playground moves ~86 KB besides (its ten dataset
# thumbnails come in one request, /api/datasets/previews, at 1 decimal: 19 KB -> 7 KB).
PAGES = ["/", "/lab", "/search", "/cnn"]  # a page that does not exist (404) is skipped


def lan_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (Linux: each interface's address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    return None


@pytest.fixture(scope="module")
def lan_server(tmp_path_factory):
    """(base URL, whether the browser must be told to offer gzip only): the server on eth0's address."""
    own = {}
    if precompress.zopfli_gzip is not None:  # make the zopfli bodies now (or find them cached)
        job = precompress.ZopfliGzip.for_bytes(static_files.plotly_bundle().read_bytes())
        assert job.done.wait(300) and job.body() is not None, "zopfli did not compress plotly.js"
        static = ROOT / "static"
        directory = precompress.DirectoryGzip.for_dir(static, static_files.GZIP_MINIMUM_SIZE)
        assert directory.done.wait(300), "zopfli did not compress the static files"
        own = {"/static/" + path.relative_to(static).as_posix(): directory.body(str(path), path.stat())
               for path in static.rglob("*") if path.suffix in precompress.OWN_FILE_SUFFIXES}
        own = {url: body for url, body in own.items() if body is not None}
    address = lan_address()
    forced = address is None
    host = address or "127.0.0.1"
    port = free_port()
    tmp = tmp_path_factory.mktemp("first-load")
    log = tmp / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "server", "--host", host, "--port", str(port),
                                    "--db", str(tmp / "runs.sqlite3"), "--workers", "1"],
                                   cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{host}:{port}"

    def get(url: str, method: str = "GET", accept: str = GZIP_ONLY):
        request = urllib.request.Request(base + url, method=method, headers={"Accept-Encoding": accept})
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.headers, reply.read()

    def zopfli_served() -> bool:  # up, and its gzip bodies are zopfli's (found in the cache)
        url = get("/", accept="identity")[1].decode().split('src="/static/vendor/', 1)[1].split('"', 1)[0]
        if precompress.zopfli_gzip is not None and not get("/static/vendor/" + url, "HEAD")[0]["ETag"].endswith('-gzip-z"'):
            return False
        return all(get(url)[1] == body for url, body in own.items())

    wait_until(process, zopfli_served, log, "the server did not serve the zopfli bodies", 60, 0.2)
    yield base, forced
    stop_process(process)


def first_load(browser, url: str, forced: bool):
    """{url: bytes} of a first visit to `url` in a fresh context, and the Accept-Encoding sent."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        if forced:
            page.set_extra_http_headers({"Accept-Encoding": GZIP_ONLY})
        urls, sizes, encodings, offered = {}, {}, {}, set()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.requestWillBeSentExtraInfo", lambda e: offered.add(
            next((v for k, v in e["headers"].items() if k.lower() == "accept-encoding"), None)))
        cdp.on("Network.responseReceived", lambda e: encodings.__setitem__(
            e["requestId"], next((v for k, v in e["response"]["headers"].items() if k.lower() == "content-encoding"), "")))
        cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        cdp.send("Network.enable")
        reply = page.goto(url, wait_until="load")
        if reply.status == 404:
            pytest.skip(f"{url} does not exist (yet)")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        by_url: dict[str, int] = {}
        for rid, n in sizes.items():
            by_url[urls.get(rid, rid)] = by_url.get(urls.get(rid, rid), 0) + n
        coded = {urls.get(rid, rid): encodings.get(rid, "") for rid in sizes}
        return by_url, coded, offered - {None}
    finally:
        context.close()


def describe(sizes: dict[str, int]) -> str:
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:8]
    return (f"{sum(sizes.values())} bytes in {len(sizes)} responses; largest: "
            + ", ".join(f"{u.split('/', 3)[-1]} {n}" for u, n in biggest))


@pytest.mark.parametrize("path", PAGES)
def test_first_load_with_gzip_only_is_under_1_5_mb(browser, lan_server, path):
    base, forced = lan_server
    sizes, codings, offered = first_load(browser, base + path, forced)
    print(f"\nfirst load of {path} ({'forced' if forced else 'the browser'} offering {offered}): {describe(sizes)}")
    assert offered == {GZIP_ONLY}, offered  # no brotli was offered
    plotly = [u for u in sizes if "/static/vendor/plotly-" in u]
    assert plotly and all(codings[u] == "gzip" for u in plotly), (plotly, codings)
    total = sum(sizes.values())
    assert total < LIMIT, describe(sizes)
