"""A tiny JSON-over-HTTP client for the tests that call the UI's API on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(url: str, payload: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    """POST `payload` as JSON (or `raw` bytes), GET when neither is given; returns (status, decoded JSON body)."""
    data = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
