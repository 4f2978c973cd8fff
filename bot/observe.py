"""Every Slack request, seen from the WSGI side: a request id (logs, and the reference an error message
quotes), its kind, its outcome and the time until Slack had its answer (the ack)."""

from __future__ import annotations

import io
import json
import logging
import time
from urllib.parse import parse_qs

from bot import metrics
from bot.logs import REQUEST_ID, REQUEST_ID_HEADER, new_request_id

log = logging.getLogger(__name__)
_ENVIRON_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


def request_kind(body: bytes, content_type: str) -> str:
    """command | block_actions | view_submission | block_suggestion | shortcut | event | … | unknown."""
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            return "event" if data.get("type") == "event_callback" else str(data.get("type") or "unknown")
        form = parse_qs(body.decode("utf-8", "replace"))
        if "command" in form:
            return "command"
        if "payload" in form:
            return str(json.loads(form["payload"][0]).get("type") or "unknown")
    except (ValueError, AttributeError):
        pass
    return "unknown"


def outcome_of(status: str) -> str:
    code = int(status.split(" ", 1)[0])
    return "ok" if code < 400 else ("refused" if code < 500 else "error")


def observed(bolt):
    """Wrap Bolt's WSGI handler: count and time each request, and give it an id."""

    def application(environ, start_response):
        started = time.monotonic()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        kind = request_kind(body, environ.get("CONTENT_TYPE") or "")
        request_id = new_request_id()
        environ[_ENVIRON_KEY] = request_id
        token = REQUEST_ID.set(request_id)
        seen: dict[str, str] = {}

        def recording_start_response(status, headers, exc_info=None):
            seen["status"] = status
            return start_response(status, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info)

        try:
            answer = bolt(environ, recording_start_response)
        finally:
            REQUEST_ID.reset(token)
        outcome = outcome_of(seen.get("status", "500"))
        metrics.REQUESTS.labels(kind, outcome).inc()
        metrics.ACK_SECONDS.labels(kind).observe(time.monotonic() - started)
        return answer

    return application
