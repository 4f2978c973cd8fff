"""The one factory for Slack Web API clients: every client (the Bolt app's, the scheduler's, the CLI's)
retries what Slack asks to be retried and counts every call for /metrics.

Retries (slack_sdk's handlers, https://docs.slack.dev/tools/python-slack-sdk/web#retryhandler):
* 429 `ratelimited`: waits the `Retry-After` seconds Slack sends (RateLimitErrorRetryHandler);
* 500/503: once more after a short backoff (ServerErrorRetryHandler);
* connection errors and timeouts: again, but only when repeating cannot double an effect: reads
  (users.info, dnd.info, conversations.history …) always; writes (chat.postMessage, chat.update …) only
  when the connection was never made. A write whose answer was lost is left to the outbox, which looks
  for the message in the channel before posting again (bot/services/outbox.py).
"""

from __future__ import annotations

import logging
import socket
import time
from http.client import HTTPException, RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot import metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

# methods whose repetition changes what people see; everything else is a read
WRITE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral",
                           "views.open", "views.push", "views.update", "views.publish", "conversations.open",
                           "files.completeUploadExternal"})


def _method_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def _is_timeout(error: Exception) -> bool:
    if isinstance(error, TimeoutError | socket.timeout):
        return True
    return isinstance(error, URLError) and isinstance(error.reason, TimeoutError | socket.timeout)


class SafeConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error handler, plus timeouts, minus any retry that could double a write.
    `every_call_writes`: for a response_url, where every post is a message."""

    def __init__(self, max_retry_count: int = 2, every_call_writes: bool = False):
        super().__init__(max_retry_count=max_retry_count,
                         error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError])
        self.every_call_writes = every_call_writes

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        if not self.every_call_writes and _method_of(request.url) not in WRITE_METHODS:
            return True
        # a write may be repeated only when it surely never reached Slack: the connection was refused
        return isinstance(error, URLError) and isinstance(error.reason, ConnectionRefusedError)


class CountedWebClient(WebClient):
    """A WebClient that counts each API call by method and error (`carebot_slack_api_calls_total`)."""

    def api_call(self, api_method: str, **kwargs):  # noqa: D102 - same contract as WebClient.api_call
        started = time.monotonic()
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            metrics.SLACK_CALLS.labels(api_method, str(exc.response.get("error") or "unknown")).inc()
            raise
        except Exception as exc:
            metrics.SLACK_CALLS.labels(api_method, "timeout" if _is_timeout(exc) else type(exc).__name__).inc()
            raise
        finally:
            metrics.SLACK_LATENCY.labels(api_method).observe(time.monotonic() - started)
        metrics.SLACK_CALLS.labels(api_method, "ok").inc()
        return response


def retry_handlers(settings: Settings) -> list:
    return [RateLimitErrorRetryHandler(max_retry_count=settings.slack_retries),
            ServerErrorRetryHandler(max_retry_count=settings.slack_retries),
            SafeConnectionErrorRetryHandler(max_retry_count=settings.slack_retries)]


def build_client(settings: Settings) -> WebClient:
    """A client on `settings.slack_api_url` with the bot token, a timeout of `settings.slack_timeout`
    seconds per attempt and the retry handlers above."""
    return CountedWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                            timeout=settings.slack_timeout, retry_handlers=retry_handlers(settings))


def counted(client: WebClient) -> WebClient:
    """The same client as a CountedWebClient (Bolt makes a plain WebClient per request from the app's)."""
    if isinstance(client, CountedWebClient):
        return client
    return CountedWebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                            proxy=client.proxy, headers=client.headers, team_id=client.default_params.get("team_id"),
                            logger=client.logger, retry_handlers=client.retry_handlers)


class ReplyLost(Exception):
    """A reply through a response_url may not have reached Slack: it timed out (it may still arrive), the
    connection failed, or the address is not one. Reported by DM (handlers/errors.py), never through the same
    address again."""


class Responder:
    """Bolt's `respond(text=, blocks=, response_type=, replace_original=, …)` for a response_url, on our terms: a
    timeout of CAREBOT_SLACK_TIMEOUT seconds (`timeout`, per network operation, as the Web API client's), not
    Bolt's fixed 30 s — one slow response_url held a worker process or an after-ack slot for up to a minute, the
    error report then trying the same address again — and retried only when the connection was refused (a post
    that may have arrived is never repeated). A timeout, a failed connection, an address that is no http(s) URL
    or Slack's refusal of the reply (404 used_url or expired_url, 400, 5xx) raises ReplyLost, for the person to
    be told by DM. Counted in /metrics as method `response_url`."""

    def __init__(self, response_url: str, timeout: int):
        self.response_url, self.timeout = response_url, timeout

    def __call__(self, text: str = "", blocks: Any = None, attachments: Any = None, response_type: str | None = None,
                 replace_original: bool | None = None, delete_original: bool | None = None,
                 unfurl_links: bool | None = None, unfurl_media: bool | None = None,
                 metadata: dict | None = None) -> WebhookResponse:
        if not isinstance(self.response_url, str) or not self.response_url.startswith(("https://", "http://")):
            metrics.SLACK_CALLS.labels("response_url", "not_a_url").inc()
            raise ReplyLost("the request's response_url is not an http(s) address")
        client = WebhookClient(self.response_url, timeout=self.timeout,
                               retry_handlers=[SafeConnectionErrorRetryHandler(1, every_call_writes=True)])
        started = time.monotonic()
        try:
            answer = client.send(text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                                 replace_original=replace_original, delete_original=delete_original,
                                 unfurl_links=unfurl_links, unfurl_media=unfurl_media, metadata=metadata)
        except (OSError, HTTPException, ValueError) as exc:  # timeouts, refused or broken connections, bad URLs
            timed_out = _is_timeout(exc)
            metrics.SLACK_CALLS.labels("response_url", "timeout" if timed_out else type(exc).__name__).inc()
            raise ReplyLost(f"the response_url did not answer within {self.timeout} s" if timed_out
                            else f"the response_url could not be reached: {exc}") from exc
        finally:
            metrics.SLACK_LATENCY.labels("response_url").observe(time.monotonic() - started)
        ok = answer.status_code == 200
        metrics.SLACK_CALLS.labels("response_url", "ok" if ok else f"http_{answer.status_code}").inc()
        if not ok:
            raise ReplyLost(f"Slack refused the reply: {answer.status_code} {str(answer.body)[:100]}")
        return answer
