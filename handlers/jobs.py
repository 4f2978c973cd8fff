"""Scheduled jobs: thin wrappers that call a service and post what it returns."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.services.core import Services
from bot.services.digest import DigestRun, run_morning_lists
from bot.services.queue import PEOPLE_SHOWN, ROWS_PER_PERSON, MorningList
from handlers.outbox_jobs import deliver_now
from messages.present import queue_row
from messages.render import Message, Renderer

LINES_PER_AGENT = ROWS_PER_PERSON  # 15: a section's text stays far below Slack's 3,000 characters
MAX_AGENT_SECTIONS = PEOPLE_SHOWN  # 43: the people whose items the service loaded (50 blocks a message)


def render_morning_list(renderer: Renderer, digest: MorningList) -> Message:
    now = digest.now
    agents = [(a.user_id, [queue_row(i, now, digest.timezone) for i in a.items[:LINES_PER_AGENT]], a.count, a.overdue)
              for a in digest.agents[:MAX_AGENT_SECTIONS]]
    unassigned = [queue_row(i, now, digest.timezone) for i in digest.unassigned[:LINES_PER_AGENT]]
    return renderer.message("morning_list.json.j2", digest.locale, digest=digest, agents=agents,
                            unassigned=unassigned, line_limit=LINES_PER_AGENT,
                            more_people=max(len(digest.agents) - MAX_AGENT_SECTIONS, 0))


def post_morning_lists(services: Services, renderer: Renderer, client: WebClient,
                       team_id: str | None = None, ignore_time: bool = False) -> DigestRun:
    """Queue the lists that are due in the outbox, then deliver the outbox at once (its worker also runs
    on its own every few seconds: a post that fails now is retried there)."""
    run = run_morning_lists(services, lambda digest: render_morning_list(renderer, digest).as_kwargs(),
                            team_id=team_id, ignore_time=ignore_time)
    deliver_now(services, renderer, client, run, "morning list in")
    return run
