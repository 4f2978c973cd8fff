"""The one error path: our errors become a clear ephemeral message in the person's language,
anything else is logged with a reference the person can quote.

Listeners are wrapped by `guarded` because Bolt, when a listener raises after ack(), overwrites the
ack response and then waits out the 3-second timeout; catching here keeps the HTTP reply immediate.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.logs import REQUEST_ID
from bot.offload import WorkerDied
from bot.services.errors import CareError
from bot.services.once import AlreadyDone
from bot.slack_client import ReplyLost
from handlers.deps import Deps, responder_of, tell_by_dm
from handlers.inputs import echo
from handlers.unavailable import is_database_down, message_key
from messages.render import Renderer

log = logging.getLogger(__name__)


SAVED: ContextVar[bool] = ContextVar("carebot_saved", default=False)


def saved() -> None:
    """Called by a listener once its change is committed: a failure after it (re-reading a list, refreshing a
    Home, a confirmation) is reported as "saved, but what follows did not finish", never as "nothing was saved"
    (the person would submit again)."""
    SAVED.set(True)


OUR_LISTS = frozenset({"choices", "locales", "keys", "roles"})  # error params that list what may be typed


def report(renderer: Renderer, error: Exception, body: dict, context: Any, respond: Any, client: Any) -> None:
    if not context.get("verified"):  # Bolt failed before our middleware: nothing in this body is trusted
        log.error("error before the request was verified; nobody is told", exc_info=error)
        return
    locale = context.get("locale") or "zh-CN"
    if isinstance(error, CareError):  # what the person typed is echoed as a short prefix (handlers/inputs.py);
        # the choices we offer are said whole ("Try one of: vip, potential, …", cut at 40 characters before)
        key, params = error.key, {k: echo(v) if type(v) is str and k not in OUR_LISTS else v
                                  for k, v in error.params.items()}
        metrics.LISTENER_ERRORS.labels("care").inc()
    elif _slack_said(error) == "expired_trigger_id":  # Slack gives 3 s to open a form: slow, not broken
        log.warning("a form was not opened: Slack answered expired_trigger_id (past the trigger's 3 s)")
        key, params = "errors.form_too_late", {}
        metrics.LISTENER_ERRORS.labels("slack").inc()
    elif _slack_said(error) == "invalid_trigger_id":  # used already: a repeat of this request opened the form
        log.warning("a form was not opened: its trigger_id was used already (a repeat of the request) or is "
                    "not Slack's; nobody is told")
        metrics.LISTENER_ERRORS.labels("slack").inc()
        return
    elif isinstance(error, ReplyLost):  # the reply may have arrived (late): said by DM, not through that address
        log.warning("a reply to %s may not have reached Slack: %s", context.user_id, error)
        key, params = "errors.reply_lost", {}
        metrics.LISTENER_ERRORS.labels("slack").inc()
    elif isinstance(error, WorkerDied):  # it may have saved before it ended: neither "nothing saved" nor "saved"
        ref = context.get("request_id") or uuid.uuid4().hex[:8]
        log.error("the worker process running the request ended before it answered (ref %s): %s", ref, error)
        key, params = "errors.interrupted", {"ref": ref}
        metrics.LISTENER_ERRORS.labels("internal").inc()
    elif is_database_down(error):  # busy or away: say so, not "something went wrong"
        log.warning("database unavailable: %s", str(error).splitlines()[0] if str(error) else error)
        key, params = message_key(error), {}
        metrics.LISTENER_ERRORS.labels("database").inc()
    else:
        ref = context.get("request_id") or uuid.uuid4().hex[:8]  # the id in every log line of this request
        log.error("unhandled error (ref %s)", ref, exc_info=error)
        key, params = "errors.internal", {"ref": ref}
        metrics.LISTENER_ERRORS.labels("internal").inc()
    if SAVED.get() and key in ("errors.internal", "inbound.db_unavailable", "inbound.db_busy"):
        key, params = "errors.saved_then_failed", {"ref": params.get("ref") or context.get("request_id")
                                                    or uuid.uuid4().hex[:8]}
    message = renderer.message("notice.json.j2", locale, key=key, params=params)
    if isinstance(body.get("response_url"), str) and not isinstance(error, ReplyLost):
        try:
            respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
            return
        except ReplyLost as lost:  # the notice itself did not get through: by DM, as below
            log.warning("could not tell %s through the response_url (%s); telling them by DM", context.user_id, lost)
        except Exception:  # noqa: BLE001 - Bolt's own respond (its error handler): by DM, as below
            log.warning("could not tell %s through the response_url; telling them by DM", context.user_id,
                        exc_info=True)
    if context.user_id:
        tell_by_dm(client, context.user_id, message)


def _slack_said(error: Exception) -> str | None:
    """The `error` code of a Web API refusal (slack_sdk's SlackApiError), else None."""
    if isinstance(error, SlackApiError) and error.response is not None:
        return error.response.get("error")
    return None


def nowhere_to_respond(*_args: Any, **_kwargs: Any) -> None:
    """`respond` for a payload that names neither a response_url nor a user: the answer has nowhere to go."""
    log.warning("a reply was dropped: the request carried no response_url and named no user")


class Later:
    """What a listener returns to be acked empty now and have `job` run after the ack, queued for one of the
    after-ack slots (bot/background.py) instead of holding a listener thread: the page of `/care due`.
    `offload`: the same work as plain data, (kind, arguments) of a worker process's job (bot/offload.py), run
    there instead when the app has worker processes."""

    def __init__(self, job: Callable[[], Any], offload: tuple[str, dict[str, Any]] | None = None):
        self.job = job
        self.offload = offload


@contextlib.contextmanager
def reported(deps: Deps, body: dict, context: Any, respond: Any, client: Any) -> Iterator[None]:
    """The error path of a listener's work, here or in a worker process (bot/offload.py): a repeat of a delivery
    is logged, any error goes through `report`; nothing is raised. Each delivery starts with nothing saved
    (`saved`), whichever thread or worker ran the one before."""
    unsaved = SAVED.set(False)
    try:
        yield
    except AlreadyDone as done:
        log.info("repeat of %s: no second effect", done.key)
    except Exception as error:  # noqa: BLE001 - this is the place errors are reported
        report(deps.renderer, error, body, context, respond, client)
    finally:
        SAVED.reset(unsaved)


ACK_WAIT = 2.5  # seconds the request waits for a listener's ack before answering Slack empty (its limit: 3 s)


class _Ack:
    """Bolt's ack(), telling the waiting request the moment it is called; the listener then waits for an
    after-ack slot (bot/background.py) before going on with what Slack is not waiting for."""

    def __init__(self, ack: Any, acked: threading.Event, slots: threading.BoundedSemaphore | None):
        """`slots` None: the listener opens a form, which Slack allows only within 3 s of the click (the
        trigger_id); it never waits behind pages for a slot."""
        self._ack, self._acked, self._slots, self.holds_slot = ack, acked, slots, False

    @property
    def response(self) -> Any:
        return self._ack.response

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._ack(*args, **kwargs)
        if not self._acked.is_set():
            self._acked.set()
            if self._slots is not None:
                self._slots.acquire()
                self.holds_slot = True
        return answer

    def quietly(self) -> Any:
        """The empty ack, without taking an after-ack slot (the work after it is queued: `Later`)."""
        answer = self._ack()
        self._acked.set()
        return answer

    def done(self) -> None:
        if self.holds_slot:
            self.holds_slot = False
            self._slots.release()
        self._acked.set()


def guarded(deps: Deps, opens_form: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a listener written as fn(**kwargs) so that any error it raises goes through `report`.

    Bolt runs it with `process_before_response` (bot/app.py): the request thread hands the listener to the
    listener pool and answers Slack as soon as the listener calls ack() (an event, not Bolt's 10 ms polling);
    the listener goes on after the ack in the pool, at most two at a time (bot/background.py) — except a listener
    that `opens_form` (views.open within the trigger's 3 s), which goes on at once."""
    pool = deps.pool

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(ack, body, context, respond, client, payload, action, command, view, event, job=None):
            token = REQUEST_ID.set(context.get("request_id"))  # listeners run on the pool
            try:
                with reported(deps, body, context, respond, client):  # a repeat is logged, an error reported
                    if job is not None:
                        return job()
                    result = fn(ack=ack, body=body, context=context, respond=respond, client=client,
                                payload=payload, action=action, command=command, view=view, event=event)
                    if isinstance(result, Later):  # acked empty now, the rest queued for an after-ack slot
                        if ack.response is None:
                            ack.quietly()
                        if result.offload is not None and pool.offload is not None:  # in a worker process
                            kind, args = result.offload
                            pool.offload.submit(kind, args, on_lost=lambda error: report(
                                deps.renderer, error, body, context, respond, client))
                        else:
                            pool.after(lambda: run(ack, body, context, respond, client, payload, action, command,
                                                   view, event, job=result.job))
                        ack = None  # the queued job ends this delivery, not this thread
                    return result
                if ack is not None and ack.response is None:  # it raised before its ack (reported above):
                    ack()  # never leave Slack waiting for the 3-second timeout
            finally:
                REQUEST_ID.reset(token)
                if isinstance(ack, _Ack) and job is None:
                    ack.done()

        def listener(ack, body, context, respond, client, payload, action, command, view, event):
            if event is not None:  # Events API: acked at once, whatever the listener does
                ack()
            acked = threading.Event()
            mine = _Ack(ack, acked, None if opens_form else pool.after_ack)
            # ours (our timeout); without a usable response_url, ephemeral in the channel or by DM (Bolt's raises)
            respond = responder_of(body, client) or nowhere_to_respond
            pool.submit(run, mine, body, context, respond, client, payload, action, command, view, event)
            if event is None and not acked.wait(ACK_WAIT):  # Slack would show an error: answer now; what
                # the listener finds later (a failure) reaches the person by response_url or DM (`report`)
                log.warning("%s did not ack within %.1f s; answered empty", fn.__name__, ACK_WAIT)
                if ack.response is None:
                    ack()
            return ack.response

        listener.__name__ = fn.__name__
        return listener

    return decorate


def register(app: App, deps: Deps) -> None:
    @app.error
    def on_error(error, body, context, respond, client):
        """What failed before a listener (a middleware): told after the HTTP answer, off the request thread,
        through our Responder (Bolt's respond waits 30 s)."""
        respond = responder_of(body, client) or respond
        deps.pool.background.submit(("error", context.get("request_id") or id(error)),
                                    lambda: report(deps.renderer, error, body, context, respond, client))
