"""A small JSON API beside the web UI, for scripts, load tests and health checks.

- `POST /api/ask` `{question, speakers?, episodes?, history?}` -> the `debrief ask --json` object plus `notice`
  (set when the LLM failed and the answer fell back to quotes) and `mode` (`extractive` or `llm`);
- `GET /api/episodes` -> the indexed episodes, newest first;
- `POST /api/ingest` (multipart `files`) -> what ingesting each file did; names, types and sizes are checked first;
  with `DEBRIEF_INGEST_TOKEN` set it needs `Authorization: Bearer <token>` (401), and without one it is open only
  while the server listens on a loopback address (403 otherwise; `ui.access`);
- `GET /healthz` -> `{"status": "ok", ...}`, or 503 when the vector store cannot be reached.

Every error is a JSON object `{"error": "..."}`: 503 when the store is unreachable (the message names its URL),
400/413/415 for a refused file, 401/403 for a refused uploader, 500 for anything unexpected (details stay in the server log).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, File, Header, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from rag.assistant import Assistant
from rag.store import StoreUnavailable
from rag.types import Filters, Message
from ui.access import bearer, ingest_refusal

log = logging.getLogger("debrief.api")

MAX_QUESTION_CHARS = 2000
MAX_HISTORY = 20


class HistoryItem(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    """The body of `POST /api/ask`."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    speakers: list[str] = Field(default_factory=list, max_length=50)
    episodes: list[str] = Field(default_factory=list, max_length=200)
    history: list[HistoryItem] = Field(default_factory=list, max_length=MAX_HISTORY)


def error(status: int, message: str) -> JSONResponse:
    """The API's one error shape."""
    return JSONResponse({"error": message}, status_code=status)


def api_router(assistant: Assistant) -> APIRouter:
    """The JSON routes over one Assistant. Questions run concurrently, also while an ingest runs: the store's
    versioned episodes keep every answer consistent, and `Assistant.ingest` serialises ingests itself."""
    router = APIRouter()

    # Sync handlers: FastAPI runs them on its worker threads, so a slow answer never blocks the event loop.
    @router.post("/api/ask", response_model=None)
    def ask(body: AskRequest) -> dict[str, Any] | JSONResponse:
        question = body.question.strip()
        if not question:
            return error(400, "the question is empty")
        filters = Filters(speakers=list(body.speakers), episodes=list(body.episodes))
        history = [Message(role=m.role, content=m.content) for m in body.history]
        try:
            answer = assistant.ask(question, filters or None, history)
        except StoreUnavailable as exc:
            return error(503, str(exc))
        except Exception:
            log.exception("answering %r failed", question)
            return error(500, "internal error while answering; see the server log")
        return {**answer.to_json(), "notice": answer.notice, "mode": answer.mode}

    @router.get("/api/episodes", response_model=None)
    def episodes() -> list[dict[str, Any]] | JSONResponse:
        try:
            return [asdict(e) for e in assistant.episodes()]
        except StoreUnavailable as exc:
            return error(503, str(exc))

    @router.post("/api/ingest", response_model=None)
    def ingest(
        files: list[UploadFile] = File(...),  # noqa: B008 - FastAPI idiom
        authorization: str | None = Header(default=None),  # noqa: B008
    ) -> dict[str, Any] | JSONResponse:
        from ui.app import MAX_UPLOAD_BYTES, safe_name, upload_problem

        refused = ingest_refusal(assistant.settings, bearer(authorization))
        if refused:
            response = error(refused.status, f"{refused.message}; nothing was ingested")
            if refused.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="debrief ingest"'
            return response

        staging = Path(tempfile.mkdtemp(prefix="debrief-api-upload-"))
        try:
            staged: list[Path] = []
            for upload in files:
                raw_name = upload.filename or ""
                data = upload.file.read(MAX_UPLOAD_BYTES + 1)  # never more than the limit in memory
                problem = upload_problem(raw_name, data)
                if problem:
                    return error(problem.status, f"{raw_name!r}: {problem.message}; nothing was ingested")
                name = safe_name(raw_name)
                target = staging / name
                if target.exists():
                    return error(400, f"{name!r} uploaded twice; nothing was ingested")
                target.write_bytes(data)
                staged.append(target)
            try:
                results = assistant.ingest(staged)
            except StoreUnavailable as exc:
                return error(503, str(exc))
            out = []
            for r in results:
                row = asdict(r)
                row["path"] = PurePosixPath(r.path).name  # never leak the staging folder
                if row["error"]:
                    row["error"] = row["error"].replace(str(staging) + "/", "")
                out.append(row)
            return {"results": out}
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @router.get("/healthz", response_model=None)
    def healthz() -> dict[str, Any] | JSONResponse:
        ping = getattr(assistant.store, "ping", None)
        try:
            if ping is not None:
                ping()
            count = len(assistant.store.catalog())
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return {"status": "ok", "episodes": count, "llm": assistant.llm_enabled}

    return router
