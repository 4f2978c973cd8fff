"""The App Home: my queue today with **Log call**, my week (calls done, callbacks on time, CSAT), quick actions
(log a call, open a complaint) and, for supervisors, the team's week. Published when the tab opens and again
after each change of mine: a call logged, a complaint opened or resolved, an escalation acknowledged, snoozed
or reassigned (the old and the new owner), and the nightly plan (only the people whose queue it changed)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import offload
from bot.services.errors import NotRegistered
from bot.services.home_figures import home_of
from bot.services.people import Actor, actor_for
from handlers.deps import Deps, actor_of, slack_profile
from handlers.errors import guarded
from handlers.ids import Action
from handlers.views_common import HOME_ROWS, home_view, log_call_view
from messages.insight_text import value_text
from messages.render import translate

log = logging.getLogger(__name__)


def home_for(deps: Deps, actor: Actor) -> dict:
    """The Home view of this person, as it is now."""
    home = home_of(deps.services, actor, HOME_ROWS)
    mine = home.mine
    week = {"period": mine.period.label, "done": mine.done,
            "on_time": value_text(mine.callbacks.on_time_rate, "%", actor.locale),
            "csat": value_text(mine.csat.mean, "mean", actor.locale)}
    team_week = short_week(home.team, actor.locale) if home.team is not None else None
    return home_view(deps.renderer, home.queue, actor, week=week, team_week=team_week)


def short_week(figures, locale: str) -> dict[str, str]:
    """The team's week as the Home line reads it."""
    return {"csat": value_text(figures.csat.mean, "mean", locale),
            "nps": value_text(figures.nps.score, "score", locale) if figures.nps.enough
            else str(translate(locale, "insight.too_few", n=figures.nps.n)),
            "on_time": value_text(figures.callbacks.on_time_rate, "%", locale),
            "fr": value_text(figures.first_response_within_sla, "%", locale),
            "res": value_text(figures.resolution_within_sla, "%", locale)}


def publish_home(deps: Deps, client: WebClient, actor: Actor) -> bool:
    """Refresh the person's Home after a change: queued (bot/background.py), after the ack and off the request
    threads, one refresh per person however many changes arrive while it waits; it reads the data as it is when
    it runs. A failure is logged, never shown as the change failing. False: a refresh was already waiting."""
    return deps.pool.background.submit(("home", actor.user_id), lambda: _publish(deps, client, actor))


def publish_home_of(deps: Deps, client: WebClient, user_id: str | None) -> bool:
    """Refresh a colleague's Home after a change made for them (a supervisor resolved their complaint): queued
    like `publish_home`."""
    if not user_id:
        return False
    return deps.pool.background.submit(("home", user_id), lambda: _publish_of(deps, client, user_id))


def refresh_homes(deps: Deps, client: WebClient, user_ids: Iterable[str | None], *, limit: int | None = None,
                  batch: int | None = None, pause: float = 0.0) -> tuple[int, int]:
    """The Home of each of these people (once each, sorted; at most `limit` of them). Without `batch` (a
    listener, after its ack) each is queued like `publish_home_of`. With `batch` (a job pacing Slack's rate
    limit: the nightly plan) they are published now, in this thread, `batch` at a time with `pause` seconds
    between batches; one Home that fails is logged and the others still go out.
    Returns (published or queued, left out over the limit)."""
    people = sorted({u for u in user_ids if u})
    over = max(len(people) - limit, 0) if limit is not None else 0
    if over:
        log.warning("%d App Home(s) not refreshed: more than %d people changed at once (each is refreshed "
                    "when its tab is opened)", over, limit)
        people = people[:limit]
    if not batch:
        return sum(publish_home_of(deps, client, user_id) for user_id in people), over
    published = 0
    for index, user_id in enumerate(people):
        if index and index % batch == 0 and pause:
            time.sleep(pause)
        if _publish_of(deps, client, user_id):
            published += 1
    return published, over


def _publish(deps: Deps, client: WebClient, actor: Actor) -> bool:
    """Built and published in a worker process when the app has them (bot/offload.py; this thread waits for it,
    holding no GIL), else here."""
    if deps.pool.offload is not None:
        try:
            return deps.pool.offload.call("home", {"actor": actor})
        except Exception:
            log.exception("refreshing the App Home of %s failed", actor.user_id)
            return False
    return publish_now(deps, client, actor)


@offload.job("home")
def publish_now(deps: Deps, client: WebClient, actor: Actor) -> bool:
    """Build this person's Home and publish it, in this process; False (logged) when that failed."""
    try:
        client.views_publish(user_id=actor.user_id, view=home_for(deps, actor))
    except SlackApiError as exc:  # Slack's answer (a user it does not know, a view it refused): one line
        log.warning("refreshing the App Home of %s failed: Slack answered %s", actor.user_id,
                    exc.response.get("error") if exc.response is not None else exc)
        return False
    except Exception:
        log.exception("refreshing the App Home of %s failed", actor.user_id)
        return False
    return True


def _publish_of(deps: Deps, client: WebClient, user_id: str) -> bool:
    try:
        actor = actor_for(deps.services, user_id, lambda user: slack_profile(client, user))
    except NotRegistered:
        return False
    except Exception:
        log.exception("refreshing the App Home of %s failed", user_id)
        return False
    return _publish(deps, client, actor)


def register(app: App, deps: Deps) -> None:
    form_guard = guarded(deps, opens_form=True)  # views.open within the click's 3 s

    @app.action(Action.HOME_LOG_CALL.value)
    @form_guard
    def home_log_call(ack, body, client, context, **_):
        ack()
        actor = actor_of(context)
        client.views_open(trigger_id=body["trigger_id"], view=log_call_view(deps.renderer, actor.locale, None, None))

    @app.action(Action.HOME_OPEN_COMPLAINT.value)
    @form_guard
    def home_open_complaint(ack, body, client, context, **_):
        ack()
        actor = actor_of(context)
        from handlers.complaints import complaint_view  # complaints refreshes the Home: imported here, no circle

        client.views_open(trigger_id=body["trigger_id"], view=complaint_view(deps.renderer, actor.locale, None, None))
