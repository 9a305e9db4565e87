"""`/ws/cnn`: the CNN lab's Live ConvNet (docs/protocol.md "CNN lab"). The playground's socket
(server/connections.py: one LiveRun in the worker processes, the same credits, pacing and
replies) with its own message table (server/protocol.py parse_cnn_message: image data only, the
CNN limits, `set` choosing the example) and a lower frame rate (a frame predicts the whole dev
set). The worker's Session builds image frames itself (server/cnn_frames.py)."""
from __future__ import annotations

from fastapi import APIRouter, WebSocket

from server import limits
from server.connections import Connection
from server.protocol import parse_cnn_message
from server.training_routes import serve_session

router = APIRouter()


class CnnConnection(Connection):
    def __init__(self, ws: WebSocket, pool, uploads, runs):
        super().__init__(ws, pool, uploads, runs)
        self.parser = parse_cnn_message

    async def on_open(self) -> None:
        await super().on_open()
        self.run.send("speed", fps=limits.CNN_DEFAULT_FPS)


@router.websocket("/ws/cnn")
async def cnn_socket(ws: WebSocket) -> None:
    await serve_session(ws, CnnConnection)
