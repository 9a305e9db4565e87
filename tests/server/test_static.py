"""Compressed, cached static files (server/static_files.py) with FastAPI's TestClient: plotly.js
compressed (gzip < 1.5 MB, brotli smaller) at a versioned immutable URL, the old URL still
answering, our own files revalidated with a 304, pages and JSON gzip-compressed, websockets
untouched by the compression middleware."""
from __future__ import annotations

import gzip
import json
import re

import pytest
from fastapi.testclient import TestClient

from server import static_files
from server.app import create_app
from server.settings import Settings

LIMIT = 1_500_000  # bytes: the whole first page load must stay under 1.5 MB (tests/e2e/test_page_weight.py)


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("db") / "runs.sqlite3", workers=1))
    with TestClient(app) as client:
        yield client


def plotly_url(http) -> str:
    found = re.search(r'<script src="(/static/vendor/plotly[^"]*)"', http.get("/").text)
    assert found, "no plotly.js script on the page"
    return found.group(1)


def raw_get(http, url: str, **headers):
    """GET without decoding the body (the bytes on the wire), following no redirect."""
    with http.stream("GET", url, headers=headers, follow_redirects=False) as reply:
        reply.body = b"".join(reply.iter_raw())
    return reply


def test_pages_load_plotly_from_a_versioned_url(http):
    version = static_files.plotly_js_version(static_files.plotly_bundle())
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version), version  # read from the bundle's banner
    for path in ("/", "/lab"):
        assert f'src="/static/vendor/plotly-{version}.min.js"' in http.get(path).text


def test_plotly_gzip_is_under_the_page_limit_and_cached_as_immutable(http):
    url = plotly_url(http)
    original = static_files.plotly_bundle().read_bytes()
    reply = raw_get(http, url, **{"Accept-Encoding": "gzip"})
    assert reply.status_code == 200 and reply.headers["content-encoding"] == "gzip"
    assert reply.headers["content-type"].startswith("text/javascript")
    assert int(reply.headers["content-length"]) == len(reply.body) < LIMIT
    assert gzip.decompress(reply.body) == original
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "accept-encoding" in reply.headers["vary"].lower()


@pytest.mark.skipif(static_files.brotli is None, reason="the brotli module is not installed")
def test_plotly_brotli_when_accepted_is_smaller_still(http):
    url = plotly_url(http)
    gz = raw_get(http, url, **{"Accept-Encoding": "gzip"})
    br = raw_get(http, url, **{"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert br.headers["content-encoding"] == "br"
    assert static_files.brotli.decompress(br.body) == static_files.plotly_bundle().read_bytes()
    assert len(br.body) < 0.9 * len(gz.body)
    refused = raw_get(http, url, **{"Accept-Encoding": "br;q=0, gzip"})
    assert refused.headers["content-encoding"] == "gzip"


def test_plotly_uncompressed_when_not_accepted(http):
    reply = raw_get(http, plotly_url(http), **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in reply.headers
    assert reply.body == static_files.plotly_bundle().read_bytes()


def test_plotly_revalidates_with_its_etag_in_any_coding(http):
    url = plotly_url(http)
    first = raw_get(http, url, **{"Accept-Encoding": "gzip"})
    etag = first.headers["etag"]
    again = raw_get(http, url, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    other = raw_get(http, url, **{"Accept-Encoding": "identity", "If-None-Match": f'W/{etag}'})
    assert other.status_code == 304
    assert raw_get(http, url, **{"If-None-Match": '"something-else"'}).status_code == 200


def test_the_old_plotly_url_still_works_and_revalidates(http):
    old = raw_get(http, "/static/vendor/plotly.min.js", **{"Accept-Encoding": "gzip"})
    assert old.status_code == 200 and old.headers["content-encoding"] == "gzip"
    assert old.headers["cache-control"] == "no-cache"  # not immutable: its content changes with plotly
    assert gzip.decompress(old.body) == static_files.plotly_bundle().read_bytes()
    # another version's URL (a page from before an upgrade) is sent to the current one
    moved = raw_get(http, "/static/vendor/plotly-0.0.1.min.js")
    assert moved.status_code in (302, 307) and moved.headers["location"] == plotly_url(http)


def test_own_static_files_revalidate_with_a_304(http):
    for path in ("/static/js/app.js", "/static/css/playground.css"):
        first = raw_get(http, path, **{"Accept-Encoding": "gzip"})
        assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
        assert first.headers["content-encoding"] == "gzip"  # over 1 KB: compressed by the middleware
        etag = first.headers["etag"]
        again = raw_get(http, path, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304 and again.body == b"", path
        since = raw_get(http, path, **{"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304


def test_pages_and_json_are_gzip_compressed_small_replies_are_not(http):
    for path in ("/", "/api/presets"):
        reply = raw_get(http, path, **{"Accept-Encoding": "gzip"})
        assert reply.status_code == 200 and reply.headers.get("content-encoding") == "gzip", path
        assert len(gzip.decompress(reply.body)) > len(reply.body)
    small = raw_get(http, "/api/datasets", **{"Accept-Encoding": "gzip"})  # a few hundred bytes
    assert small.status_code == 200 and "content-encoding" not in small.headers
    assert raw_get(http, "/", **{"Accept-Encoding": "identity"}).headers.get("content-encoding") is None


def test_websockets_pass_through_the_compression_middleware(http):
    with http.websocket_connect("/ws/lab") as ws:
        first = ws.receive_json()  # the lab's greeting
        assert isinstance(first, dict) and "type" in first
    with http.websocket_connect("/ws") as ws:
        ws.send_json({"type": "configure", "config": {}})
        kinds = set()
        for _ in range(50):
            message = ws.receive()
            if message.get("text"):
                kinds.add(json.loads(message["text"])["type"])
            elif message.get("bytes"):
                break  # a binary frame: the session trains and streams
        assert "state" in kinds and message.get("bytes", b"")[:4] == b"NNPF"
