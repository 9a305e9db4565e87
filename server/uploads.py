"""Uploaded CSV datasets, kept in memory by id (least recently used dropped beyond the cap)."""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Optional

from engine.data import CsvData, load_csv
from server import limits


class CsvUploads:
    def __init__(self, cap: int = limits.CSV_CACHE_ENTRIES):
        self.cap = cap
        self._items: OrderedDict[str, CsvData] = OrderedDict()
        self._lock = threading.Lock()  # routes may run in the thread pool

    def add(self, body: bytes) -> tuple[str, CsvData]:
        """Validate the CSV bytes (server limits, then engine.data.load_csv) and keep them.

        Raises ValueError naming the line / column, or the limit that was exceeded (bytes here,
        rows and input columns inside load_csv, before it allocates anything for them). The body is
        passed as bytes on purpose: load_csv treats a one-line *string* as a file path.
        """
        if len(body) > limits.MAX_CSV_BYTES:
            raise ValueError(f"the CSV file is {len(body)} bytes; at most {limits.MAX_CSV_BYTES} are allowed")
        # the server's limits go into the parser, so a wide header or too many rows is refused
        # before the table is built (engine/csvdata.py)
        data = load_csv(body, max_rows=limits.MAX_CSV_ROWS, max_inputs=limits.MAX_INPUTS)
        key = secrets.token_urlsafe(9)
        with self._lock:
            self._items[key] = data
            while len(self._items) > self.cap:
                self._items.popitem(last=False)
        return key, data

    def get(self, key: str) -> Optional[CsvData]:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data
