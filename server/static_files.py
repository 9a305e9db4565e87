"""Static files, compressed and cached (issue #11 "Teacher-ready pages").

- plotly.js (4.8 MB, from the installed `plotly` package) is compressed once per process, in
  memory: brotli (when the `brotli` module is installed and the browser accepts `br`: Chromium
  does on https and localhost) and gzip for the others: zlib's gzip -9 (1.47 MB) until zopfli's
  smaller gzip (1.41 MB, server/precompress.py: made in a background thread at startup, kept in
  the user's cache directory) is ready. It is served at a versioned URL,
  /static/vendor/plotly-<plotly.js version>.min.js, cached for a year as immutable; the old
  /static/vendor/plotly.min.js still answers, with `no-cache` (revalidated by its ETag).
- Our own files (static/js, static/css) are ES modules importing each other by relative path, so
  a version in the entry module's URL would not reach its imports: they are sent with
  `Cache-Control: no-cache` and an ETag / Last-Modified, so a revisit revalidates each (304). Their
  gzip is zopfli's too (~3 % smaller than level 6), made at startup in the background
  (server/precompress.py DirectoryGzip), for a file unchanged since; until then, the middleware's.
- Everything else over 1 KB that is not compressed yet (pages, own static files, JSON) goes
  through Starlette's GZipMiddleware (`add_compression`); it touches HTTP only, never websockets.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
import threading
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.precompress import DirectoryGzip, ZopfliGzip

try:  # optional: without it, gzip only
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency; this keeps the server up without it
    brotli = None

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
GZIP_MINIMUM_SIZE = 1024     # bytes: smaller responses are sent as they are
GZIP_LEVEL = 6
BROTLI_QUALITY = 9           # 4.8 MB in ~0.4 s -> 1.23 MB (11: ~12 s -> 1.11 MB; gzip -9: 1.47 MB)
VENDOR_PREFIX = "/static/vendor/"


def plotly_bundle() -> Path:
    """plotly.min.js as shipped inside the installed `plotly` Python package (no CDN)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def plotly_js_version(path: Path) -> str:
    """The plotly.js version in the bundle's banner ("plotly.js v4.1.1"), else a content hash."""
    with open(path, "rb") as f:
        head = f.read(400).decode("utf-8", "replace")
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+[\w.+-]*)", head)
    if found:
        return found.group(1)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def accepted(request: Request, coding: str) -> bool:
    """True when Accept-Encoding lists `coding` (or *) with a q-value above 0."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in (coding, "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class CompressedFile:
    """One file held in memory; each compressed form is made on its first request (thread-safe).
    gzip: zopfli's body (`self.zopfli`, once `precompress()` has made or found it), else gzip -9."""

    def __init__(self, path: Path, media_type: str):
        self.path, self.media_type = path, media_type
        self._lock = threading.Lock()
        self._bodies: dict[str, bytes] = {}
        self.codings = ("br", "gzip") if brotli is not None else ("gzip",)
        self.etag = ""
        self.zopfli: ZopfliGzip | None = None

    def precompress(self) -> "CompressedFile":
        """Start zopfli's gzip body in the background (or find it in the cache directory)."""
        self.body("identity")
        self.zopfli = ZopfliGzip.for_bytes(self._bodies["identity"])
        return self

    def gzip_body(self) -> tuple[bytes, str]:
        """(gzip body, its ETag suffix): zopfli's when ready, else zlib's level 9."""
        smaller = self.zopfli.body() if self.zopfli is not None else None
        if smaller is not None:
            self._bodies.pop("gzip", None)  # no longer sent
            return smaller, "gzip-z"
        body = self._bodies.get("gzip")
        return (body if body is not None else self.body("gzip")), "gzip"

    def body(self, coding: str) -> bytes:
        """The file's bytes in `coding` ('br', 'gzip' or 'identity'), compressed once."""
        with self._lock:
            if coding not in self._bodies:
                if "identity" not in self._bodies:
                    raw = self.path.read_bytes()
                    self._bodies["identity"], self.etag = raw, hashlib.sha256(raw).hexdigest()[:20]
                raw = self._bodies["identity"]
                if coding == "br":
                    self._bodies[coding] = brotli.compress(raw, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT)
                elif coding == "gzip":
                    self._bodies[coding] = gzip.compress(raw, compresslevel=9, mtime=0)
            return self._bodies[coding]

    async def response(self, request: Request, cache_control: str) -> Response:
        coding = next((c for c in self.codings if accepted(request, c)), "identity")
        tag = coding
        if coding == "gzip":
            if self.zopfli is not None and self.zopfli.body() is not None:
                body, tag = self.gzip_body()
            else:  # the first gzip request may compress (gzip -9): off the event loop
                body, tag = await asyncio.to_thread(self.gzip_body)
        else:
            body = self._bodies.get(coding)
            if body is None:  # the first request in this coding: compress off the event loop
                body = await asyncio.to_thread(self.body, coding)
        headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding", "ETag": f'"{self.etag}-{tag}"'}
        sent = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
        if any(t == "*" or t.startswith(f'"{self.etag}-') for t in sent):  # the same content, any coding
            return Response(status_code=304, headers=headers)
        if coding != "identity":
            headers["Content-Encoding"] = coding
        return Response(body, media_type=self.media_type, headers=headers)


class RevalidatedStaticFiles(StaticFiles):
    """StaticFiles (ETag, Last-Modified, 304) whose answers say `no-cache`: revalidate every time.
    With `precompressed`, a JS or CSS file is sent to a gzip-accepting GET as zopfli's body once it
    is made and while the file is unchanged; otherwise GZipMiddleware compresses it (level 6)."""

    def __init__(self, *args, precompressed: DirectoryGzip | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.precompressed = precompressed

    def file_response(self, full_path, stat_result, scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = REVALIDATE
        if (self.precompressed is not None and response.status_code == 200 and scope["method"] == "GET"
                and accepted(Request(scope), "gzip")):
            body = self.precompressed.body(full_path, stat_result)
            if body is not None:  # same headers (ETag, Last-Modified), the bytes gzip-encoded
                headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "accept-ranges")}
                headers.update({"content-encoding": "gzip", "vary": "Accept-Encoding"})
                return Response(body, status_code=200, headers=headers)
        return response


def add_compression(app: FastAPI) -> None:
    """gzip for HTTP responses over GZIP_MINIMUM_SIZE that are not compressed yet."""
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE, compresslevel=GZIP_LEVEL)


def add_static_routes(app: FastAPI, static_dir: Path) -> str:
    """The plotly.js routes and the /static mount; returns the versioned plotly.js URL for the pages."""
    path = plotly_bundle()
    if not path.is_file():  # the pages say so through the browser's 404; nothing else breaks
        url = VENDOR_PREFIX + "plotly.min.js"
    else:
        version = plotly_js_version(path)
        url = f"{VENDOR_PREFIX}plotly-{version}.min.js"
        bundle = CompressedFile(path, "text/javascript").precompress()
        app.state.plotly_bundle = bundle

        @app.api_route(url, methods=["GET", "HEAD"], include_in_schema=False)
        async def plotly_versioned(request: Request) -> Response:
            return await bundle.response(request, IMMUTABLE)

        @app.api_route(VENDOR_PREFIX + "plotly.min.js", methods=["GET", "HEAD"], include_in_schema=False)
        async def plotly_plain(request: Request) -> Response:
            return await bundle.response(request, REVALIDATE)

        @app.get(VENDOR_PREFIX + "plotly-{other}.min.js", include_in_schema=False)
        def plotly_other(other: str) -> Response:
            # a page from before an upgrade of plotly: the current bundle (not cached as immutable)
            return RedirectResponse(url, status_code=302)

    precompressed = DirectoryGzip.for_dir(static_dir, GZIP_MINIMUM_SIZE)
    app.mount("/static", RevalidatedStaticFiles(directory=str(static_dir), check_dir=False, precompressed=precompressed),
              name="static")
    return url
