"""The weekly and monthly reports: render the headline post in the team's language, post it in
`supervisor_channel`, then upload the charts there (files.getUploadURLExternal, the upload, and
files.completeUploadExternal, through slack_sdk's files_upload_v2)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.insight_charts import render_charts
from bot.services.core import Services
from bot.services.insight import Insight
from bot.services.reports import ReportRun, run_reports
from messages.insight_text import category_counts, change_value_text, day, delta_text, headline, tier_csat
from messages.render import Message, Renderer, translate

log = logging.getLogger(__name__)


def render_report(renderer: Renderer, insight: Insight, locale: str) -> Message:
    period = insight.period
    items = headline(insight.headline, locale)
    moved = [{"label": str(translate(locale, f"insight.metric.{c.key}")), "value": change_value_text(c, locale),
              "delta": delta_text(c, locale)} for c in insight.moved]
    return renderer.message(
        "report.json.j2", locale,
        title=str(translate(locale, f"insight.report.title_{period.kind}", period=period.label)),
        intro=translate(locale, "insight.report.intro", team=insight.team_name, start=day(period.first, locale),
                        end=day(period.last, locale), previous=period.previous().label),
        first=items[:6], second=items[6:], moved=moved, previous=period.previous().label,
        categories=category_counts(insight, locale), tiers=tier_csat(insight, locale))


def post_reports(services: Services, renderer: Renderer, client: WebClient, team_id: str | None = None,
                 ignore_time: bool = False, only=None) -> ReportRun:
    def publish(insight: Insight, channel: str) -> str:
        locale = insight.locale
        message = render_report(renderer, insight, locale)
        charts = render_charts(insight, locale)  # drawn before posting: a drawing error posts nothing
        ts = client.chat_postMessage(channel=channel, **message.as_kwargs())["ts"]
        try:
            client.files_upload_v2(channel=channel, file_uploads=[
                {"content": chart.png, "filename": chart.name, "title": chart.title} for chart in charts])
        except Exception:  # the post is out and claimed: say so in the log rather than post it twice
            log.exception("the charts of the %s report of %s were not uploaded", insight.period.label,
                          insight.team_id)
        return ts

    run = run_reports(services, publish, team_id=team_id, ignore_time=ignore_time, only=only)
    for team, label, ts in run.posted:
        log.info("report %s of %s posted (ts %s)", label, team, ts)
    return run
