"""Cross-site requests and DNS rebinding: one ASGI middleware in front of every HTTP route and
websocket (docs/limits.md "Origins and hosts").

Why two checks:
- **Host** (every request and websocket). A DNS-rebinding page first loads from evil.example, then
  points that name at 127.0.0.1 or the teacher's LAN address: the browser then talks to us as
  "same origin" with `Host: evil.example:PORT` and can read runs, delete them and open /ws. It
  needs a DNS *name*, so a Host that is an IP address literal (how a classroom reaches the
  teacher's machine) is always served, so is `localhost`; any other name must be given with
  `--allow-host NAME` (or be the `--host` bind name). Everything else gets 400 naming the Host.
- **Origin** (state-changing methods: POST, PUT, PATCH, DELETE; and websockets). A page on another
  site can POST to us from a visitor's browser without any preflight (a text/plain form or a
  `no-cors` fetch). Browsers send `Origin` on those, so the websocket's rule applies
  (`origin_allowed`: same host:port as Host, an `--allow-origin` entry, '*' = any).
  This middleware is the only place a websocket's Origin is checked. A request without Origin but with `Sec-Fetch-Site: cross-site` is refused too. Clients
  that send neither (curl, scripts, the tests) are not browsers and pass. Refused: 403 JSON.

A websocket refused by either check gets HTTP 403 before the handshake, as the websocket origin
check answered already.
"""
from __future__ import annotations

import ipaddress
import json
from typing import Iterable, Optional
from urllib.parse import urlsplit

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALWAYS_ALLOWED_NAMES = frozenset({"localhost"})


def host_name(host: str) -> str:
    """The name or address of a Host header without its port, lower case, no trailing dot:
    'Evil.Example:8000' -> 'evil.example', '[::1]:8000' -> '[::1]', '10.0.0.5' -> '10.0.0.5'."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[:end + 1] if end > 0 else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") <= 1 else host


def is_ip_literal(name: str) -> bool:
    """'127.0.0.1', '[::1]': an address the browser connected to directly, not a DNS name."""
    try:
        if name.startswith("[") and name.endswith("]"):
            return ipaddress.ip_address(name[1:-1]).version == 6
        return ipaddress.ip_address(name).version == 4
    except ValueError:
        return False


def allowed_host_names(allow_hosts: Iterable[str], bind_host: str = "") -> frozenset[str]:
    """localhost, the --allow-host names (ports dropped) and the --host bind name if it is a name."""
    names = set(ALWAYS_ALLOWED_NAMES)
    for entry in [*allow_hosts, bind_host]:
        if entry and entry.strip() == "*":
            names.add("*")
        elif entry and not is_ip_literal(host_name(entry)) and host_name(entry) not in ("0.0.0.0", "::"):
            names.add(host_name(entry))
    return frozenset(names)


def origin_allowed(origin: Optional[str], host: Optional[str], extra: list[str]) -> bool:
    """Same origin (the Origin's host:port equals the Host header), an --allow-origin entry,
    or no Origin header at all (non-browser clients). '*' in `extra` allows every origin."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in extra or origin in extra:
        return True
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc.lower() == host.lower()


def host_allowed(host: Optional[str], names: frozenset[str]) -> bool:
    """No Host header (HTTP/1.0, not a browser), an IP literal, or an allowed name ('*' = any)."""
    if host is None or "*" in names:
        return True
    name = host_name(host)
    return is_ip_literal(name) or name in names


def host_refusal(host: str) -> str:
    name = host_name(host)
    return (f"Host {host!r} is not served here (DNS rebinding protection): open this server by its IP "
            f"address or as localhost, or start it with --allow-host {name} if that name is yours.")


def origin_refusal(origin: Optional[str], fetch_site: Optional[str]) -> Optional[str]:
    """Why a state-changing request from a browser is refused, or None."""
    if origin is not None:
        return (f"Origin {origin!r} may not change anything on this server (cross-site request refused): "
                f"use the page served by this server, or start it with --allow-origin {origin.rstrip('/')}.")
    return (f"cross-site request refused (Sec-Fetch-Site: {fetch_site}, no Origin): use the page served by "
            f"this server, or send an Origin allowed with --allow-origin.")


class OriginGuard:
    """Pure ASGI middleware (sees "http" and "websocket" scopes; lifespan passes through)."""

    def __init__(self, app, allow_origins: list[str], allow_hosts: Iterable[str] = (), bind_host: str = ""):
        self.app = app
        self.allow_origins = list(allow_origins)
        self.host_names = allowed_host_names(allow_hosts, bind_host)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {}
        for key, value in scope.get("headers") or ():
            headers.setdefault(key.decode("latin-1"), value.decode("latin-1"))
        host = headers.get("host")
        if not host_allowed(host, self.host_names):
            return await self._refuse(scope, receive, send, 400, host_refusal(host or ""), as_json=False)
        if kind == "websocket" or scope.get("method", "GET").upper() in STATE_CHANGING:
            origin, fetch_site = headers.get("origin"), headers.get("sec-fetch-site")
            if not origin_allowed(origin, host, self.allow_origins) or (
                    origin is None and (fetch_site or "").strip().lower() == "cross-site"):
                return await self._refuse(scope, receive, send, 403, origin_refusal(origin, fetch_site),
                                          as_json=True)
        return await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope, receive, send, status: int, message: str, as_json: bool) -> None:
        if as_json:
            body, media = json.dumps({"detail": message}).encode(), b"application/json"
        else:
            body, media = message.encode(), b"text/plain; charset=utf-8"
        headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        # A websocket is refused before the handshake with a plain 403 (the websocket rule's answer).
        # Not uvicorn's `websocket.http.response` (a body with the reason): its websockets-sansio
        # protocol then logs "ASGI callable returned without completing handshake" as an error.
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
