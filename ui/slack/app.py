"""The Slack bot: Bolt listeners that pass questions to `Assistant.ask` and post the answers in threads.

Only Slack plumbing lives here: the answer, its citations, refusals and LLM fallbacks all come from the Assistant;
`ui.slack.blocks` turns them into Block Kit.

Two transports, one Bolt app:
- Socket Mode (`SLACK_APP_TOKEN` + `SLACK_BOT_TOKEN`): no public URL needed.
- HTTP Events API (`SLACK_SIGNING_SECRET` + `SLACK_BOT_TOKEN`): served on `settings.host:port` at `/slack/events`
  for events and the slash command alike; Bolt checks the signature and timestamp of every request.

Bolt runs with `process_before_response=False`: each listener acks first, Slack gets its HTTP 200 at once, and
the answer (seconds of retrieval and maybe an LLM call) is posted afterwards from Bolt's worker threads.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from rag.types import Answer, Filters, Message
from ui.slack import blocks as kit
from ui.slack.history import earlier_messages

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from rag.settings import Settings

log = logging.getLogger("debrief.slack")

BOT_TOKEN_VAR = "SLACK_BOT_TOKEN"
APP_TOKEN_VAR = "SLACK_APP_TOKEN"
SIGNING_SECRET_VAR = "SLACK_SIGNING_SECRET"
# Lets a test or a proxy point the bot at another Web API host; Slack's own by default.
API_URL_VAR = "SLACK_API_URL"
EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/debrief"
DEFAULT_PORT = 3000


class SlackConfigError(RuntimeError):
    """A Slack token or secret is missing or of the wrong kind; the message names the environment variable."""


class Asker(Protocol):
    """The one method of `rag.assistant.Assistant` the bot needs."""

    def ask(self, question: str, filters: Filters | None = None, history: list[Message] | None = None) -> Answer: ...


@dataclass(frozen=True)
class SlackCredentials:
    """What one transport needs: the bot token, plus the app token (Socket Mode) or signing secret (HTTP)."""

    bot_token: str
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: str | None = None


def credentials_from_env(env: Mapping[str, str], http: bool) -> SlackCredentials:
    """Read the Slack credentials for the chosen transport, failing with the name of what is missing or wrong."""

    def need(var: str, what: str, prefix: str | None = None) -> str:
        value = (env.get(var) or "").strip()
        if not value:
            raise SlackConfigError(f"{var} is not set: export {var}=<{what}> (see docs/slack.md).")
        if prefix and not value.startswith(prefix):
            raise SlackConfigError(f"{var} should be {what} starting with '{prefix}', got '{value[:5]}…'.")
        return value

    bot = need(BOT_TOKEN_VAR, "the Bot User OAuth Token from OAuth & Permissions", "xoxb-")
    api_url = (env.get(API_URL_VAR) or "").strip() or None
    if http:
        secret = need(SIGNING_SECRET_VAR, "the Signing Secret from Basic Information > App Credentials")
        return SlackCredentials(bot_token=bot, signing_secret=secret, api_url=api_url)
    app_token = need(APP_TOKEN_VAR, "an app-level token with connections:write, from Basic Information", "xapp-")
    return SlackCredentials(bot_token=bot, app_token=app_token, api_url=api_url)


class DebriefBot:
    """Turns Slack events into `Assistant.ask` calls and posts the answers; never raises into Bolt."""

    def __init__(self, assistant: Asker) -> None:
        self.assistant = assistant
        # The Assistant's index and embedder are not promised to be thread-safe; Bolt runs listeners on a pool.
        self._ask_lock = threading.Lock()

    def answer(self, question: str, history: list[Message] | None = None) -> list[kit.SlackMessage]:
        """The messages answering `question` (a follow-up of `history`, oldest first): the Assistant's answer, or
        a polite apology if it failed."""
        try:
            with self._ask_lock:
                answer = self.assistant.ask(question, history=history or None)
            return kit.answer_messages(answer)
        except Exception:
            log.exception("answering %r failed", question)
            return [kit.error_message()]

    def reply_in_thread(self, client: WebClient, channel: str, thread_ts: str, question: str,
                        history: Callable[[], list[Message]] | None = None) -> None:
        """Post the placeholder in the thread at once, then replace it with the answer (overflow follows).
        `history` reads the earlier exchange, after the placeholder is up (it is a Slack call)."""
        if not question:
            self._post(client, channel, thread_ts, kit.help_message())
            return
        placeholder = self._post(client, channel, thread_ts, kit.looking_message())
        messages = self.answer(question, history() if history else None)
        first, rest = messages[0], messages[1:]
        if placeholder is None:
            # Could not post the placeholder (e.g. a transient error): still try to answer.
            self._post(client, channel, thread_ts, first)
        else:
            updated_channel, ts = placeholder
            try:
                client.chat_update(channel=updated_channel, ts=ts, text=first.text, blocks=first.blocks)
            except SlackApiError as error:
                log.warning("chat.update failed (%s); replacing the placeholder with an apology", _error(error))
                self._update_plain(client, updated_channel, ts, kit.ERROR_TEXT)
                return
        for message in rest:
            self._post(client, channel, thread_ts, message)

    def on_mention(self, event: dict[str, Any], client: WebClient, bot_user_id: str | None = None) -> None:
        """`app_mention`: answer in the thread of the mentioning message, as a follow-up of that thread's earlier
        messages (or of the direct-message conversation's)."""
        channel = event.get("channel")
        ts = event.get("thread_ts") or event.get("ts")
        if not channel or not ts:
            log.warning("app_mention without channel or ts ignored: %s", sorted(event))
            return
        self.reply_in_thread(client, channel, ts, kit.question_from_slack(event.get("text", "")),
                             lambda: earlier_messages(client, event, bot_user_id))

    def on_message(self, event: dict[str, Any], client: WebClient, bot_user_id: str | None = None) -> None:
        """`message`: answer direct messages only; edits, deletions, joins and bot posts carry a subtype or bot id."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        self.on_mention(event, client, bot_user_id)

    def on_command(self, command: dict[str, Any], client: WebClient, respond: Callable[..., Any]) -> None:
        """`/debrief <question>`: post the question in the channel and thread the answer under it.

        Where the bot cannot post (a private channel it is not in, a DM between other people) the answer goes
        back through the command's `response_url`, visible to the asker only.
        """
        question = kit.question_from_slack(command.get("text", ""))
        if not question:
            self._respond(respond, kit.help_message())
            return
        echo = kit.question_message(command.get("user_id", ""), question)
        try:
            posted = client.chat_postMessage(channel=command.get("channel_id", ""), text=echo.text, blocks=echo.blocks)
        except SlackApiError as error:
            log.info("cannot post in %s (%s); answering via response_url", command.get("channel_id"), _error(error))
            self._respond(respond, kit.looking_message())
            for message in self.answer(question):
                self._respond(respond, message)
            return
        self.reply_in_thread(client, str(posted["channel"]), str(posted["ts"]), question)

    def _post(
        self, client: WebClient, channel: str, thread_ts: str, message: kit.SlackMessage
    ) -> tuple[str, str] | None:
        try:
            response = client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks
            )
            return str(response["channel"]), str(response["ts"])
        except SlackApiError as error:
            log.warning("chat.postMessage to %s failed: %s", channel, _error(error))
            return None

    def _update_plain(self, client: WebClient, channel: str, ts: str, text: str) -> None:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=[kit.section(text)])
        except SlackApiError as error:
            log.warning("chat.update to %s failed again: %s", channel, _error(error))

    @staticmethod
    def _respond(respond: Callable[..., Any], message: kit.SlackMessage) -> None:
        try:
            respond(text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("posting to the response_url failed")


def _error(error: SlackApiError) -> str:
    try:
        return str(error.response.get("error", error))
    except Exception:
        return str(error)


class _SeenEvents:
    """Slack redelivers an event it thinks we missed; answering it twice would post two answers."""

    def __init__(self, size: int = 2048) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


def build_app(
    assistant: Asker,
    credentials: SlackCredentials,
    *,
    client: WebClient | None = None,
    token_verification: bool = True,
) -> App:
    """The Bolt app with the mention, DM and `/debrief` listeners wired to `assistant`."""
    if client is None:
        kwargs: dict[str, Any] = {"token": credentials.bot_token}
        if credentials.api_url:
            kwargs["base_url"] = credentials.api_url.rstrip("/") + "/"
        client = WebClient(**kwargs)
    app = App(
        client=client,
        # Socket Mode requests are not signed (Bolt skips the check for them); HTTP ones must be.
        signing_secret=credentials.signing_secret or "",
        process_before_response=False,
        token_verification_enabled=token_verification,
        name="debrief",
    )
    bot = DebriefBot(assistant)
    seen = _SeenEvents()

    @app.middleware
    def skip_redeliveries(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if isinstance(event_id, str) and not seen.first_time(event_id):
            log.info("event %s delivered again; already answered", event_id)
            return BoltResponse(status=200, body="")
        return next()

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        bot.on_mention(event, client, context.bot_user_id)

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        bot.on_message(event, client, context.bot_user_id)

    @app.command(SLASH_COMMAND)
    def on_command(
        ack: Callable[..., Any], command: dict[str, Any], client: WebClient, respond: Callable[..., Any]
    ) -> None:
        ack()  # within Slack's 3 s; the answer comes after
        bot.on_command(command, client, respond)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error for %s: %r", (body or {}).get("type"), error)

    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def wsgi_app(app: App) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """`/slack/events` goes to Bolt; `/healthz` answers `ok` for load balancers; everything else is 404."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok"]
        return bolt(environ, start_response)

    return application


def make_http_server(app: App, host: str, port: int) -> WSGIServer:
    """A threaded WSGI server for the Events API on `host:port` (port 0 picks a free one); call `serve_forever()`."""
    return make_server(host, port, wsgi_app(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)


def socket_mode_handler(app: App, app_token: str | None) -> SocketModeHandler:
    """Bolt's Socket Mode handler for `app`: `start()` blocks serving (as `run` does), `connect()` / `close()` don't.

    It asks `apps.connections.open` for its websocket URL through `app.client`, so the app token goes to the same
    Web API host as every other call: Slack's, or `SLACK_API_URL` when set (how the tests point it at a fake).
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token, web_client=app.client)


def run(settings: Settings, http: bool = False, port: int = DEFAULT_PORT) -> None:
    """`debrief slack [--http --port N]`: check the tokens, load the index, serve until interrupted.

    Raises `SlackConfigError` naming the missing environment variable before loading anything.
    """
    credentials = credentials_from_env(os.environ, http=http)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rag.assistant import Assistant  # heavy (embedder, Chroma): only once the tokens are known to be there

    assistant = Assistant(settings)
    assistant.ensure_samples()
    app = build_app(assistant, credentials)
    if http:
        server = make_http_server(app, settings.host, port)
        host, bound = server.server_address[:2]
        log.info("debrief Slack bot listening on http://%s:%s%s", host, bound, EVENTS_PATH)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return
    log.info("debrief Slack bot connecting with Socket Mode")
    socket_mode_handler(app, credentials.app_token).start()
