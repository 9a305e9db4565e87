"""zopfli's gzip body for plotly.js (server/precompress.py, server/static_files.py): made in a
background thread, kept on disk by content hash, found there by the next process, never served
before it is ready (gzip -9 meanwhile) nor when it does not decompress to the file."""
from __future__ import annotations

import gzip
import os
import threading
import time

import pytest
from starlette.requests import Request

from server import precompress, static_files
from server.precompress import ZopfliGzip
from tests.fresh_loop import run_fresh

pytestmark = pytest.mark.skipif(precompress.zopfli_gzip is None, reason="the zopfli module is not installed")

SAMPLE = b"".join(b"function f%d(a, b) { return a * %d + b; }\n" % (i, i * 7 % 13) for i in range(3000))


def request(accept: str = "gzip, deflate") -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                    "headers": [(b"accept-encoding", accept.encode())]})


def test_zopfli_body_is_smaller_than_gzip_9_cached_and_found_again(tmp_path):
    job = ZopfliGzip(SAMPLE, directory=tmp_path).start()
    assert job.done.wait(60) and job.source == "zopfli"
    body = job.body()
    assert gzip.decompress(body) == SAMPLE
    assert len(body) < len(gzip.compress(SAMPLE, 9))
    assert job.path.read_bytes() == body and job.path.parent == tmp_path
    assert job.digest[:32] in job.path.name and "n1" in job.path.name  # content hash and options
    assert not list(tmp_path.glob("*.tmp"))

    again = ZopfliGzip(SAMPLE, directory=tmp_path).start()  # the next process: from the disk
    assert again.done.wait(10) and again.source == "cache" and again.body() == body


def test_a_damaged_or_foreign_cache_file_is_not_served(tmp_path):
    job = ZopfliGzip(SAMPLE, directory=tmp_path)
    job.path.write_bytes(gzip.compress(SAMPLE[:-1]))  # valid gzip of other bytes
    job.start()
    assert job.done.wait(60) and job.source == "zopfli" and gzip.decompress(job.body()) == SAMPLE
    job.path.write_bytes(job.body()[:-9])  # truncated
    other = ZopfliGzip(SAMPLE, directory=tmp_path).start()
    assert other.done.wait(60) and other.source == "zopfli" and gzip.decompress(other.body()) == SAMPLE


def test_an_unwritable_cache_directory_still_gives_the_body(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    job = ZopfliGzip(SAMPLE, directory=blocker / "cache").start()
    assert job.done.wait(60) and gzip.decompress(job.body()) == SAMPLE


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(precompress.CACHE_ENV, str(tmp_path / "mine"))
    assert precompress.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(precompress.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert precompress.cache_dir() == tmp_path / "xdg" / "nn-playground"


def test_one_job_per_content_per_process():
    assert ZopfliGzip.for_bytes(SAMPLE) is ZopfliGzip.for_bytes(bytes(SAMPLE))
    ZopfliGzip.for_bytes(SAMPLE).done.wait(60)


def test_gzip_9_is_served_until_zopfli_is_ready_then_zopfli(tmp_path, monkeypatch):
    path = tmp_path / "bundle.js"
    path.write_bytes(SAMPLE)
    gate = threading.Event()
    real = precompress.zopfli_gzip.compress

    def slow(data, **options):  # zopfli "still running" until the gate opens
        gate.wait(30)
        return real(data, **options)

    monkeypatch.setattr(precompress, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(precompress.zopfli_gzip, "compress", slow)
    monkeypatch.setattr(ZopfliGzip, "_jobs", {})
    bundle = static_files.CompressedFile(path, "text/javascript").precompress()
    before = run_fresh(bundle.response(request(), static_files.IMMUTABLE))
    assert before.headers["content-encoding"] == "gzip" and before.body == gzip.compress(SAMPLE, 9, mtime=0)
    assert before.headers["etag"].endswith('-gzip"')

    gate.set()
    assert bundle.zopfli.done.wait(60)
    after = run_fresh(bundle.response(request(), static_files.IMMUTABLE))
    assert after.headers["content-encoding"] == "gzip" and after.body == bundle.zopfli.body()
    assert len(after.body) < len(before.body) and gzip.decompress(after.body) == SAMPLE
    assert after.headers["etag"].endswith('-gzip-z"')
    # a browser holding the gzip -9 body revalidates it with a 304 (the same file)
    revalidated = run_fresh(bundle.response(
        Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                 "headers": [(b"accept-encoding", b"gzip"), (b"if-none-match", before.headers["etag"].encode())]}),
        static_files.IMMUTABLE))
    assert revalidated.status_code == 304
    assert bundle.body("br" if static_files.brotli else "identity")  # other codings unaffected


def test_the_app_serves_plotly_with_zopfli_once_ready(tmp_path):
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(db_path=tmp_path / "runs.sqlite3", workers=1))
    bundle = app.state.plotly_bundle
    started = time.monotonic()
    assert bundle.zopfli.done.wait(120), "zopfli did not finish plotly.js in 2 minutes"
    print(f"\nplotly.js zopfli body: {len(bundle.zopfli.body())} bytes ({bundle.zopfli.source}, "
          f"waited {time.monotonic() - started:.1f} s)")
    with TestClient(app) as client:
        url = app.state.plotly_url
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip, deflate"}) as reply:
            body = b"".join(reply.iter_raw())
    assert reply.headers["content-encoding"] == "gzip" and body == bundle.zopfli.body()
    raw = static_files.plotly_bundle().read_bytes()
    assert gzip.decompress(body) == raw
    assert len(body) < len(gzip.compress(raw, 9)) - 40_000  # zopfli: ~55 KB smaller on plotly.js 4.1


def test_own_files_zopfli_bodies_only_for_unchanged_js_and_css(tmp_path, monkeypatch):
    monkeypatch.setenv(precompress.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "static"
    (root / "js").mkdir(parents=True)
    big, css = root / "js" / "big.js", root / "style.css"
    big.write_bytes(SAMPLE[:20_000])
    css.write_bytes(b".a { color: red; }\n" * 200)
    (root / "js" / "tiny.js").write_bytes(b"export const x = 1;\n")
    (root / "notes.txt").write_bytes(SAMPLE[:5_000])
    own = precompress.DirectoryGzip(root, minimum_size=1024).start()
    assert own.done.wait(60)
    for path in (big, css):
        body = own.body(str(path), path.stat())
        assert gzip.decompress(body) == path.read_bytes()
        assert len(body) < len(gzip.compress(path.read_bytes(), 6))
    assert own.body(str(root / "js" / "tiny.js"), (root / "js" / "tiny.js").stat()) is None  # under the minimum
    assert own.body(str(root / "notes.txt"), (root / "notes.txt").stat()) is None  # neither JS nor CSS
    big.write_bytes(SAMPLE[:20_001])  # edited: no longer the body's file
    assert own.body(str(big), big.stat()) is None
    cached = sorted((tmp_path / "cache").glob("*.gz"))
    assert len(cached) == 2
    # an own file's body unused for a month is pruned at the next start; plotly.js's (other options) stays
    old, plotly = tmp_path / "cache" / f"{'0' * 32}.b15-n15.gz", tmp_path / "cache" / f"{'1' * 32}.b60-n1.gz"
    for path in (old, plotly):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - 40 * 86400,) * 2)
    css_cached = ZopfliGzip(css.read_bytes(), precompress.OWN_FILE_OPTIONS, tmp_path / "cache").path
    assert css_cached in cached
    os.utime(css_cached, (time.time() - 40 * 86400,) * 2)  # read again below: marked used
    again = precompress.DirectoryGzip(root, minimum_size=1024).start()
    assert again.done.wait(60)
    assert not old.exists() and plotly.exists() and css_cached.exists()
    assert time.time() - css_cached.stat().st_mtime < 60
    assert precompress.DirectoryGzip.for_dir(root) is precompress.DirectoryGzip.for_dir(root / "js" / "..")


def test_the_app_sends_own_files_as_zopfli_gzip_with_the_same_validators(tmp_path):
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(db_path=tmp_path / "runs.sqlite3", workers=1))
    own = precompress.DirectoryGzip.for_dir(app.state.settings.static_dir)
    assert own.done.wait(120), "zopfli did not finish the static files in 2 minutes"
    path = app.state.settings.static_dir / "js" / "app.js"
    with TestClient(app) as client:
        with client.stream("GET", "/static/js/app.js", headers={"Accept-Encoding": "gzip, deflate"}) as reply:
            body = b"".join(reply.iter_raw())
        plain = client.get("/static/js/app.js", headers={"Accept-Encoding": "identity"})
        again = client.get("/static/js/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": reply.headers["etag"]})
    assert reply.status_code == 200 and reply.headers["content-encoding"] == "gzip"
    assert body == own.body(str(path), path.stat()) and gzip.decompress(body) == path.read_bytes()
    assert int(reply.headers["content-length"]) == len(body) and "accept-ranges" not in reply.headers
    assert reply.headers["content-type"].startswith("text/javascript") and reply.headers["cache-control"] == "no-cache"
    assert reply.headers["etag"] == plain.headers["etag"] and reply.headers["last-modified"] == plain.headers["last-modified"]
    assert "accept-encoding" in reply.headers["vary"].lower()
    assert "content-encoding" not in plain.headers and plain.content == path.read_bytes()
    assert again.status_code == 304
