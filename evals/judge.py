"""An LLM judge for answers: faithful to the cited segments? correct against the key facts? in the question's language?

One chat completion per answer, all three criteria at once, JSON out. We use the `openai` client directly rather
than llama-index's FaithfulnessEvaluator/CorrectnessEvaluator: those take two calls per answer, have no
language criterion, and parse free text ("YES"/a score line) that small local models often get wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.types import Citation

SYSTEM = """You grade answers of a question-answering assistant over French TV-show transcripts.
You get the user's question, the answer, the cited transcript segments [n] the answer rests on, and the key facts
a correct answer contains or paraphrases. Grade three things:
- faithfulness (0 to 1): share of the answer's claims supported by the cited segments, and credited to the
  speaker the segment names. Claims with no support, or words credited to the wrong person, lower it.
- correctness (0 to 1): how well the answer covers the key facts (paraphrase and translation count). If there
  are no key facts the question is unanswerable: 1 if the answer says the transcripts do not cover it, else 0.
- language_match (true/false): the answer's own sentences are in the question's language (quotes may stay French).
Reply with one JSON object and nothing else:
{"faithfulness": <number>, "correctness": <number>, "language_match": <true|false>, "reason": "<one sentence>"}"""

_JSON = re.compile(r"\{.*\}", re.S)


@dataclass
class Verdict:
    """The judge's grades for one answer; `error` set (and grades None) when the judge's reply was unusable."""

    faithfulness: float | None
    correctness: float | None
    language_match: bool | None
    reason: str = ""
    error: str | None = None


def prompt(question: str, language: str, answer: str, citations: Sequence[Citation], key_facts: Sequence[str]) -> str:
    """The user message the judge reads."""
    segments = "\n".join(f"[{c.n}] {c.speaker} ({c.episode_id}, {c.start:.0f}s): {c.quote}" for c in citations)
    facts = "\n".join(f"- {f}" for f in key_facts) or "(none: the transcripts do not answer this question)"
    return (f"Question ({'English' if language == 'en' else 'French'}):\n{question}\n\n"
            f"Answer:\n{answer}\n\nCited segments:\n{segments or '(none)'}\n\nKey facts:\n{facts}")


def parse_verdict(text: str) -> Verdict:
    """Read the judge's JSON reply, tolerating code fences and chatter around the object."""
    match = _JSON.search(text or "")
    if not match:
        return Verdict(None, None, None, error=f"no JSON object in judge reply: {text[:80]!r}")
    try:
        data: dict[str, Any] = json.loads(match.group(0))
        faith = _unit(data["faithfulness"])
        correct = _unit(data["correctness"])
        lang = data["language_match"]
        if isinstance(lang, str):
            lang = lang.strip().lower() in ("true", "yes", "1")
        return Verdict(faith, correct, bool(lang), str(data.get("reason", "")))
    except (ValueError, KeyError, TypeError) as exc:
        return Verdict(None, None, None, error=f"bad judge reply ({exc.__class__.__name__}: {exc}): {text[:80]!r}")


def _unit(value: Any) -> float:
    number = float(value)
    if number > 1.0:  # some models grade out of 5 or 10 despite the instructions
        number = number / 10.0 if number > 5.0 else number / 5.0
    return max(0.0, min(1.0, number))


class Judge:
    """Grades answers with a chat model behind any OpenAI-compatible endpoint."""

    def __init__(self, base_url: str | None, api_key: str | None, model: str, timeout_s: float = 60.0) -> None:
        from openai import OpenAI

        self.model = model
        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=1)

    def grade(self, question: str, language: str, answer: str, citations: Sequence[Citation],
              key_facts: Sequence[str]) -> Verdict:
        """One verdict; endpoint failures come back as a Verdict with `error`, never as an exception."""
        from openai import OpenAIError

        try:
            reply = self.client.chat.completions.create(
                model=self.model, temperature=0.0,
                messages=[{"role": "system", "content": SYSTEM},
                          {"role": "user", "content": prompt(question, language, answer, citations, key_facts)}],
            )
            content = reply.choices[0].message.content if reply.choices else None
        # A broken body surfaces as a decode error (ValueError) or an odd object, not as an OpenAIError.
        except (OpenAIError, ValueError, AttributeError, TypeError) as exc:
            return Verdict(None, None, None, error=f"judge endpoint failed: {exc.__class__.__name__}: {exc}")
        return parse_verdict(content or "")
