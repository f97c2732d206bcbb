"""Quote selection's text tests."""

from __future__ import annotations

import pytest

from rag.extractive import FIGURE


@pytest.mark.parametrize(("text", "figure"), [
    ("Ce lundi même le 8 décembre il y a 8 pays", True),
    ("j'ai compté, trois fois l'évocation", True),
    ("plusieurs ordres de grandeur supérieurs à ce qu'on a avec des capteurs classiques", True),
    ("49% du capital", True),
    ("une plateforme qui est gérée par un cloud public", False),
])
def test_a_figure_is_digits_or_a_number_written_out(text: str, figure: bool) -> None:
    assert bool(FIGURE.search(text)) is figure
