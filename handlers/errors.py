"""The one error handler: our errors become a clear ephemeral message in the person's language."""

from __future__ import annotations

import logging
import uuid

from slack_bolt import App

from bot.services.errors import CareError
from handlers.deps import Deps

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.error
    def on_error(error, body, context, respond, client):
        locale = context.get("locale") or "zh-CN"
        if isinstance(error, CareError):
            key, params = error.key, error.params
        else:
            ref = uuid.uuid4().hex[:8]
            log.exception("unhandled error (ref %s)", ref, exc_info=error)
            key, params = "errors.internal", {"ref": ref}
        message = deps.renderer.message("notice.json.j2", locale, key=key, params=params)
        if body.get("response_url") or (body.get("response_urls") or []):
            respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
        elif context.user_id:
            client.chat_postMessage(channel=context.user_id, **message.as_kwargs())
