"""APScheduler inside the bot process. Jobs are safe to run every minute and on every replica:
what they post is claimed in the database first."""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot import metrics
from bot.health import Health
from bot.services.core import Services
from handlers.jobs import post_morning_lists
from handlers.outbox_jobs import deliver_outbox
from handlers.plan_jobs import run_nightly_plan_job
from handlers.report_jobs import post_reports
from handlers.sla_jobs import run_sla_sweep
from messages.render import Renderer

log = logging.getLogger(__name__)
MORNING_LIST_JOB = "morning_list"
SLA_SWEEP_JOB = "sla_sweep"
NIGHTLY_PLAN_JOB = "nightly_plan"
REPORT_JOB = "insight_report"  # issue 13: weekly and monthly reports
OUTBOX_JOB = "outbox"
OUTBOX_EVERY_SECONDS = 2  # the outbox worker: retries after their backoff, messages other replicas left


def build_scheduler(services: Services, renderer: Renderer, client: WebClient,
                    every_seconds: int = 60, health: Health | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
    scheduler.add_listener(_count_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    if health is not None:
        scheduler.add_listener(lambda _event: health.tick(), EVENT_JOB_EXECUTED)
    scheduler.add_job(_safely(post_morning_lists), "interval", seconds=every_seconds, id=MORNING_LIST_JOB,
                      kwargs={"services": services, "renderer": renderer, "client": client},
                      next_run_time=dt.datetime.now(dt.UTC))
    scheduler.add_job(_safely(run_sla_sweep), "interval", seconds=every_seconds, id=SLA_SWEEP_JOB,
                      kwargs={"services": services, "renderer": renderer, "client": client},
                      next_run_time=dt.datetime.now(dt.UTC))
    scheduler.add_job(_safely(run_nightly_plan_job), "interval", seconds=every_seconds, id=NIGHTLY_PLAN_JOB,
                      kwargs={"services": services, "renderer": renderer, "client": client},
                      next_run_time=dt.datetime.now(dt.UTC))
    scheduler.add_job(_safely(post_reports), "interval", seconds=every_seconds, id=REPORT_JOB,
                      kwargs={"services": services, "renderer": renderer, "client": client},
                      next_run_time=dt.datetime.now(dt.UTC))
    scheduler.add_job(_safely(deliver_outbox), "interval", seconds=min(every_seconds, OUTBOX_EVERY_SECONDS),
                      id=OUTBOX_JOB, kwargs={"services": services, "renderer": renderer, "client": client},
                      next_run_time=dt.datetime.now(dt.UTC))
    return scheduler


def _count_missed(event) -> None:
    metrics.JOBS.labels(event.job_id, "late").inc()
    log.warning("job %s was late and skipped a run (the previous run was still going, or the process stalled)",
                event.job_id)


def _safely(job):
    def run(**kwargs):
        try:
            job(**kwargs)
        except Exception:
            metrics.JOBS.labels(job.__name__, "failed").inc()
            log.exception("job %s failed; it runs again at the next tick", job.__name__)
        else:
            metrics.JOBS.labels(job.__name__, "ok").inc()

    run.__name__ = job.__name__
    return run
