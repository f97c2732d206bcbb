"""Slack bot for debrief: answers mentions, direct messages and `/debrief` with cited transcript segments."""

from ui.slack.app import SlackConfigError, build_app, run

__all__ = ["SlackConfigError", "build_app", "run"]
