"""The weekly and monthly reports: render the headline post in the team's language and draw the charts, queue
both in the outbox (for `supervisor_channel`) with the report's claim; the outbox posts the text, then uploads
the charts in keyed steps (files.getUploadURLExternal, the upload, files.completeUploadExternal:
handlers/outbox_kinds.py)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.services.core import Services
from bot.services.insight import Insight
from bot.services.reports import ReportRun, Step, run_reports
from handlers.outbox_jobs import deliver_now
from handlers.outbox_kinds import charts_payload
from messages.insight_text import category_counts, change_value_text, day, delta_text, headline, metric_label, tier_csat
from messages.render import Message, Renderer, translate


def render_report(renderer: Renderer, insight: Insight, locale: str) -> Message:
    period = insight.period
    items = headline(insight.headline, locale, insight.settings)
    moved = [{"label": str(metric_label(c.key, locale, insight.settings)), "value": change_value_text(c, locale),
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
    """Queue the due reports in the outbox (text, then charts, claimed together), then deliver them at once; the
    outbox worker retries what fails now (bot/services/reports.py)."""
    def compose(insight: Insight) -> list[Step]:
        locale = insight.locale
        message = render_report(renderer, insight, locale)
        from bot.insight_charts import render_charts  # matplotlib (~30 MB) loaded with the first report, not at start

        charts = render_charts(insight, locale)  # drawn before anything is claimed: a drawing error posts nothing
        steps = [Step("text", "report_text", message.as_kwargs())]
        if charts:
            steps.append(Step("charts", "report_charts", charts_payload(charts), after="text"))
        return steps

    run = run_reports(services, compose, team_id=team_id, ignore_time=ignore_time, only=only)
    deliver_now(services, renderer, client, run, "report", kinds=("report_text", "report_charts"))
    return run
