"""A smaller gzip body for a large static file (plotly.js), made once with zopfli and kept on disk.

Browsers that are not offered brotli (Chromium over plain http to another machine sends
`Accept-Encoding: gzip, deflate`) get gzip. zopfli writes ordinary gzip (any browser decodes it)
about 4 % smaller than zlib's level 9: plotly.min.js 4.8 MB -> 1.47 MB with gzip -9, 1.41 MB with
zopfli. It is slow (seconds), so it never runs on the request path:

- `ZopfliGzip(raw).start()` looks for the body in the cache directory (`cache_dir()`), under a name
  made of the content's SHA-256 and the zopfli options, and otherwise compresses it in a background
  daemon thread (zopfli releases the GIL, so the event loop keeps serving) and stores it there
  (written to a temporary file, then renamed: readers never see half a file).
- Until it is ready, `body()` returns None and the caller sends its own gzip -9.
- A cached body is used only if it decompresses to the file's exact bytes.
- One job per content per process (`ZopfliGzip.for_bytes`): apps created again in one process
  (tests) share it.
Without the `zopfli` module, or without a writable cache directory, this degrades to gzip -9
(and to recompressing once per process).
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Optional

try:
    import zopfli.gzip as zopfli_gzip
except ImportError:  # pragma: no cover - zopfli is a dependency; without it, gzip -9
    zopfli_gzip = None

log = logging.getLogger(__name__)

CACHE_ENV = "NN_PLAYGROUND_CACHE"  # a directory for the compressed bodies (default: the user cache)
# plotly.min.js 4.1.1 (4.82 MB), one core: gzip -9 1.469 MB; zopfli's defaults but 1 iteration (up to
# 15 blocks) 1.419 MB in ~3 s; up to 60 blocks 1.412 MB in ~9 s (as unlimited); 15 iterations gain
# < 3 KB more for 4x the time. Made once per plotly version and machine (cached), so 60 blocks.
ZOPFLI_OPTIONS = {"numiterations": 1, "blocksplittingmax": 60}


def cache_dir() -> Path:
    """$NN_PLAYGROUND_CACHE, else $XDG_CACHE_HOME/nn-playground, else ~/.cache/nn-playground."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nn-playground"


def options_tag(options: dict) -> str:
    return "-".join(f"{k[0]}{v}" for k, v in sorted(options.items()))  # blocksplittingmax=15 -> b15


class ZopfliGzip:
    """The zopfli gzip body of one content, looked up on disk or made in a background thread."""

    _jobs: dict[str, "ZopfliGzip"] = {}
    _jobs_lock = threading.Lock()

    def __init__(self, raw: bytes, options: Optional[dict] = None, directory: Optional[Path] = None):
        self.raw = raw
        self.options = dict(ZOPFLI_OPTIONS if options is None else options)
        self.digest = hashlib.sha256(raw).hexdigest()
        self.directory = directory
        self._body: Optional[bytes] = None
        self._thread: Optional[threading.Thread] = None
        self.done = threading.Event()  # set when body() is final (the zopfli body, or None for good)
        self.source = ""                # "cache" or "zopfli" once ready

    @classmethod
    def for_bytes(cls, raw: bytes) -> "ZopfliGzip":
        """This process's job for `raw` (started): one compression per content, however many apps."""
        key = hashlib.sha256(raw).hexdigest()
        with cls._jobs_lock:
            job = cls._jobs.get(key)
            if job is None:
                job = cls._jobs[key] = cls(raw)
                job.start()
            return job

    @property
    def path(self) -> Path:
        return (self.directory or cache_dir()) / f"{self.digest[:32]}.{options_tag(self.options)}.gz"

    def body(self) -> Optional[bytes]:
        """The zopfli-compressed gzip body, or None while it is being made (or if it cannot be)."""
        return self._body

    def start(self) -> "ZopfliGzip":
        if zopfli_gzip is None:
            self.done.set()
        elif self._thread is None:
            self._thread = threading.Thread(target=self._run, name="zopfli", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            body = self._read_cache()
            if body is not None:
                self.source = "cache"
            else:
                body = zopfli_gzip.compress(self.raw, **self.options)
                if gzip.decompress(body) != self.raw:  # never serve a wrong body
                    raise ValueError("zopfli's output does not decompress to the input")
                self.source = "zopfli"
                self._write_cache(body)
            self._body = body
        except Exception:  # the caller keeps its gzip -9
            log.exception("zopfli compression failed; serving gzip -9")
        finally:
            self.done.set()

    def _read_cache(self) -> Optional[bytes]:
        try:
            body = self.path.read_bytes()
            return body if gzip.decompress(body) == self.raw else None
        except (OSError, EOFError, gzip.BadGzipFile, ValueError):
            return None  # missing, unreadable or damaged: compress again

    def _write_cache(self, body: bytes) -> None:
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as f:
                f.write(body)
            os.replace(f.name, path)
        except OSError as err:  # a read-only home: recompress in the next process
            log.warning("could not cache the zopfli body in %s: %s", path.parent, err)
            try:
                os.unlink(f.name)
            except (OSError, UnboundLocalError):
                pass
