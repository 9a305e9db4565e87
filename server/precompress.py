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
import time
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
        self.directory = directory or cache_dir()  # fixed now: the environment may change later
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
        return self.directory / f"{self.digest[:32]}.{options_tag(self.options)}.gz"

    def body(self) -> Optional[bytes]:
        """The zopfli-compressed gzip body, or None while it is being made (or if it cannot be)."""
        return self._body

    def start(self) -> "ZopfliGzip":
        """make() in a background daemon thread."""
        if zopfli_gzip is None:
            self.done.set()
        elif self._thread is None:
            self._thread = threading.Thread(target=self.make, name="zopfli", daemon=True)
            self._thread.start()
        return self

    def make(self) -> Optional[bytes]:
        """The body, from the cache directory or compressed now (and cached); None if it fails."""
        try:
            if zopfli_gzip is None:
                return None
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
            return body
        except Exception:  # the caller keeps its own gzip
            log.exception("zopfli compression failed; serving zlib's gzip")
            return None
        finally:
            self.done.set()

    def _read_cache(self) -> Optional[bytes]:
        try:
            body = self.path.read_bytes()
            if gzip.decompress(body) != self.raw:
                return None
            os.utime(self.path)  # used now: DirectoryGzip.prune keeps it
            return body
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


# Our own JS and CSS files are small: 15 iterations (zopfli's default), ~2 s for all of static/ on
# one core the first time, then read from the cache; ~3 % smaller than GZipMiddleware's level 6.
OWN_FILE_OPTIONS = {"numiterations": 15, "blocksplittingmax": 15}
OWN_FILE_SUFFIXES = (".js", ".css")
PRUNE_DAYS = 30


class DirectoryGzip:
    """zopfli gzip bodies of a directory's JS and CSS files, made in one background thread (or read
    from the cache directory). Each body is kept with the (mtime, size) its file had when it was
    read, and `body()` gives it only for a file that still has them: an edited file is sent as
    before (the caller compresses it) until the next process."""

    _dirs: dict[str, "DirectoryGzip"] = {}
    _dirs_lock = threading.Lock()

    def __init__(self, root: Path, minimum_size: int = 1024, options: Optional[dict] = None):
        self.root, self.minimum_size = Path(root), minimum_size
        self.options = dict(OWN_FILE_OPTIONS if options is None else options)
        self.cache = cache_dir()
        self._bodies: dict[str, tuple[int, int, bytes]] = {}
        self.done = threading.Event()

    @classmethod
    def for_dir(cls, root: Path, minimum_size: int = 1024) -> "DirectoryGzip":
        """This process's job for `root` (started): apps created again in one process share it."""
        key = os.path.realpath(root)
        with cls._dirs_lock:
            job = cls._dirs.get(key)
            if job is None:
                job = cls._dirs[key] = cls(Path(key), minimum_size)
                job.start()
            return job

    def start(self) -> "DirectoryGzip":
        if zopfli_gzip is None or not self.root.is_dir():
            self.done.set()
        else:
            threading.Thread(target=self.make_all, name="zopfli-static", daemon=True).start()
        return self

    def make_all(self) -> None:
        try:
            for path in sorted(self.root.rglob("*")):
                if path.suffix not in OWN_FILE_SUFFIXES or not path.is_file():
                    continue
                try:
                    stat = path.stat()
                    raw = path.read_bytes()
                except OSError:
                    continue
                if len(raw) < self.minimum_size:
                    continue
                body = ZopfliGzip(raw, self.options, self.cache).make()
                if body is not None:
                    self._bodies[os.path.realpath(path)] = (stat.st_mtime_ns, stat.st_size, body)
            self.prune()
        finally:
            self.done.set()

    def prune(self, days: float = PRUNE_DAYS) -> None:
        """Delete cached bodies of own files unused for `days` (each edit of a file caches a new one;
        a body is marked used whenever a process reads it). plotly.js's (other options) stay."""
        cutoff = time.time() - days * 86400
        for path in self.cache.glob(f"*.{options_tag(self.options)}.gz"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass

    def body(self, full_path: str, stat: os.stat_result) -> Optional[bytes]:
        """The gzip body of the file at `full_path` if it is made and the file unchanged, else None."""
        entry = self._bodies.get(os.path.realpath(full_path))
        if entry is None or entry[:2] != (stat.st_mtime_ns, stat.st_size):
            return None
        return entry[2]
