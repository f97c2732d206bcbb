"""Stand-ins for services at the system's edge (a remote LLM endpoint), speaking their real protocol on 127.0.0.1."""

from tests.fakes.openai_server import FakeOpenAI, start_fake_openai

__all__ = ["FakeOpenAI", "start_fake_openai"]
