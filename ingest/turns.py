"""Speech lines → speaker turns: consecutive lines of the same speaker."""

from __future__ import annotations

from ingest.models import SpeechLine, Turn

UNKNOWN_SPEAKER = "Unknown"


def group_turns(lines: list[SpeechLine]) -> list[Turn]:
    """Group lines into turns; a line with no speaker joins an `Unknown` turn rather than someone else's."""
    turns: list[Turn] = []
    for line in lines:
        speaker = line.speaker or UNKNOWN_SPEAKER
        if turns and turns[-1].speaker == speaker:
            turns[-1].lines.append(line)
        else:
            turns.append(Turn(speaker=speaker, lines=[line]))
    return turns
