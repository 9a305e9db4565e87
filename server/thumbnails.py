"""Students' boundary thumbnails for the teacher's dashboard, cut from their runs' last frames.

Format (docs/protocol.md "Rooms"): one binary message in the frame layout ("NNPF", header length,
JSON header, padding, payload), header `type: "thumbnails"`, one uint8 image per student named
`s{student_id}` in `arrays`, with `students: [{"student_id", "iteration"}]`. An image is every
k-th row and column of the frame's `boundary` (k = ⌈res / THUMB_SIZE⌉, so at most
THUMB_SIZE × THUMB_SIZE), bytes unchanged, with the frame's own lo/hi: the browser decodes it
like a frame. Picking pixels, no arithmetic on values: the worker did the math.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np
import orjson

from server.frames import MAGIC, frame_header

THUMB_SIZE = 20


@dataclass
class Thumbnail:
    iteration: int
    pixels: bytes
    shape: tuple[int, int]
    lo: list
    hi: list


def thumbnail(frame: bytes) -> Optional[Thumbnail]:
    """The boundary of a frame, subsampled (None when the frame has no boundary)."""
    header = frame_header(frame)
    layout = header["arrays"].get("boundary")
    if layout is None:
        return None
    (length,) = struct.unpack_from("<I", frame, 4)
    start = 8 + length
    start += -start % 4
    rows, cols = layout["shape"]
    image = np.frombuffer(frame, dtype=np.uint8, count=rows * cols, offset=start + layout["offset"]).reshape(rows, cols)
    k = -(-max(rows, cols) // THUMB_SIZE)
    small = np.ascontiguousarray(image[::k, ::k])
    return Thumbnail(header["iteration"], small.tobytes(), small.shape, layout["lo"], layout["hi"])


def encode_thumbnails(thumbs: dict[int, Thumbnail]) -> bytes:
    """{student_id: Thumbnail} as one binary message (layout above)."""
    arrays, students, chunks, offset = {}, [], [], 0
    for student_id, thumb in thumbs.items():
        arrays[f"s{student_id}"] = {"offset": offset, "shape": list(thumb.shape), "dtype": "uint8",
                                    "lo": thumb.lo, "hi": thumb.hi}
        students.append({"student_id": student_id, "iteration": thumb.iteration})
        chunks.append(thumb.pixels)
        offset += len(thumb.pixels)
    head = orjson.dumps({"type": "thumbnails", "students": students, "arrays": arrays})
    padding = b"\0" * (-(8 + len(head)) % 4)
    return b"".join([MAGIC, struct.pack("<I", len(head)), head, padding, *chunks])
