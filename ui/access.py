"""Who may add transcripts through the web UI and `POST /api/ingest`.

Asking questions is open to whoever reaches the server, like the UI itself. Adding or replacing episodes changes
what everybody's answers cite, so it needs more: with `DEBRIEF_INGEST_TOKEN` set, the token (a bearer token for
the API, a password field in the UI); without one, only a server listening on a loopback address accepts uploads,
because then only this machine's users reach it.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from rag.settings import Settings

TOKEN_VAR = "DEBRIEF_INGEST_TOKEN"


@dataclass(frozen=True)
class Refusal:
    """Why an upload is refused, and the HTTP status the JSON API answers with."""

    status: int
    message: str


def token_required(settings: Settings) -> bool:
    """An ingest token is configured: uploads must present it."""
    return bool(settings.ingest_token and settings.ingest_token.get_secret_value())


def loopback_only(settings: Settings) -> bool:
    """The server listens on a loopback address only (127.0.0.0/8, ::1, localhost)."""
    host = settings.host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def ingest_refusal(settings: Settings, presented: str | None) -> Refusal | None:
    """None when an upload presenting the token `presented` (None: no token given) may go on, else why not."""
    if token_required(settings):
        expected = settings.ingest_token.get_secret_value().encode() if settings.ingest_token else b""
        if presented and hmac.compare_digest(presented.strip().encode(), expected):
            return None
        what = "a wrong ingest token" if presented else "no ingest token"
        return Refusal(401, f"adding transcripts needs the server's ingest token ({TOKEN_VAR}); {what} was given")
    if loopback_only(settings):
        return None
    return Refusal(403, f"adding transcripts is off: the server listens on {settings.host}, which other machines "
                        f"reach, and no ingest token is set; set {TOKEN_VAR} to allow uploads with it")


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
