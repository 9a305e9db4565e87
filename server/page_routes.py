"""The HTML pages: the playground (/), the optimizer lab (/lab), the CNN lab (/cnn) and a classroom room (/room/{code}).
Their templates get the limits, the frame rate and plotly.js's versioned URL (app.state.plotly_url);
the playground's (/ and a playground room) the TrainConfig JSON schema too, embedded in the page
(static/js/state.js reads its ranges, defaults and live keys without a request before first paint)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from engine.config import TrainConfig
from server import limits
from server.version import VERSION

router = APIRouter(include_in_schema=False)


def without_docs(node):
    """A JSON schema without its `title` and `description` texts (keys whose value is a string;
    a property that happens to be named so keeps its schema): what a page reads from it (types,
    ranges, choices, defaults, `live` and `used_by` marks) in a third fewer bytes (half, gzipped)."""
    if isinstance(node, dict):
        return {k: without_docs(v) for k, v in node.items() if not (k in ("title", "description") and isinstance(v, str))}
    if isinstance(node, list):
        return [without_docs(v) for v in node]
    return node


# GET /api/config-schema serves the whole schema; pages embed it without its texts
CONFIG_SCHEMA = without_docs(TrainConfig.model_json_schema())


def page(request: Request, name: str, **extra) -> Response:
    state = request.app.state
    templates_dir = state.settings.templates_dir
    if not (templates_dir / name).is_file():
        return HTMLResponse(f"<h1>nn-playground</h1><p>templates/{name} is missing.</p>", status_code=503)
    templates: Jinja2Templates = state.templates
    context = {"version": VERSION, "limits": limits.LIMITS, "fps": state.settings.fps,
               "plotly_url": state.plotly_url, **extra}
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return page(request, "index.html", config_schema=CONFIG_SCHEMA)


@router.get("/lab", response_class=HTMLResponse)
def lab(request: Request) -> Response:
    return page(request, "lab.html")


@router.get("/cnn", response_class=HTMLResponse)
def cnn(request: Request) -> Response:
    return page(request, "cnn.html")


@router.get("/room/{code}", response_class=HTMLResponse)
async def room(request: Request, code: str) -> Response:
    # A classroom room (docs/protocol.md "Rooms"): the playground (a lab room: the optimizer
    # lab) driven by /ws/room/{code}; the page says so when the code is unknown (the socket's `error`).
    code = code.upper()[:12]
    record = await request.app.state.rooms.store.get_room(code)
    lab_room = record is not None and record.kind == "lab"
    if lab_room:
        return page(request, "lab_room.html", code=code)
    return page(request, "room.html", code=code, config_schema=CONFIG_SCHEMA)
