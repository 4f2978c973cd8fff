"""Jinja2 templates -> Block Kit payloads, escaped for mrkdwn and validated by slack_sdk before they leave.

Templates are JSON with `{{ … }}` inside JSON strings. Every value printed passes `_finalize`:
a plain string is escaped for mrkdwn (`&`, `<`, `>`) and for JSON, so a customer named `<!channel>`
can never ping a channel. Only `Mrkdwn` values (catalog texts, mentions built by `mention()`) keep
their markup, and `JsonFragment` values (from the `json` / `plain` filters) are printed as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list
from babel.units import format_unit
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View

from bot.care.privacy import mask_name, mask_phone
from bot.care.scrub import scrub

HERE = Path(__file__).parent
LOCALES = ("zh-CN", "en")
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_OPTIONS = 100
# Slack's length limits (characters) on plain_text fields we fill with customer data: an option's text, a
# button's text, a header, a modal title, an input's initial value (Block Kit reference, ../shared/slack)
SLACK_TEXT_LIMITS = {"option": 75, "button": 75, "header": 150, "placeholder": 150, "modal_title": 24,
                     "initial_value": 3000}
# parsed once: babel given a name parses it and looks its data up again on every date (~5x the cost of the date)
_BABEL_LOCALE = {"zh-CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en")}
_SLACK_ID = re.compile(r"^[UWBSC][A-Z0-9]{2,}$")


class RenderError(ValueError):
    """A template produced something Slack would refuse; nothing is sent."""


class Mrkdwn(str):
    """Text that is already safe mrkdwn."""


class JsonFragment(str):
    """Already-encoded JSON, printed verbatim."""


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: object, limit: int | str) -> str:
    """Text cut to Slack's limit for the field, "…" included: `clip(name, "option")` or `clip(name, 75)`.
    The one helper for every plain_text field built from customer data (issue 9)."""
    size = SLACK_TEXT_LIMITS[limit] if isinstance(limit, str) else int(limit)
    text = _plain_str(text)
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def _json_body(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _finalize(value: Any) -> str:
    if isinstance(value, JsonFragment):
        return value
    if isinstance(value, Mrkdwn):
        return _json_body(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        raise RenderError("print booleans with |json")
    if isinstance(value, int | float | Decimal):
        return str(value)
    return _json_body(escape_mrkdwn(str(value)))


def pick_locale(slack_locale: str | None, default: str) -> str:
    """Slack's `zh-CN`, `zh-TW`, `en-US`, `en-GB` … onto the locales we have."""
    if slack_locale:
        prefix = slack_locale.split("-")[0].lower()
        for locale in LOCALES:
            if locale.split("-")[0].lower() == prefix:
                return locale
    return default if default in LOCALES else LOCALES[0]


@cache
def catalog(locale: str) -> dict[str, str]:
    """`locales/<locale>.yaml` plus every `locales/<area>.<locale>.yaml` (one file per feature area)."""
    files = [HERE / "locales" / f"{locale}.yaml", *sorted((HERE / "locales").glob(f"*.{locale}.yaml"))]
    merged: dict[str, str] = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            texts = _flatten(yaml.safe_load(handle) or {})
        clash = merged.keys() & texts.keys()
        if clash:
            raise RenderError(f"{path.name} repeats keys: {sorted(clash)[:5]}")
        merged.update(texts)
    return merged


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def translate(locale: str, key: str, **params: Any) -> Mrkdwn:
    """A catalog text with its parameters escaped (unless they are Mrkdwn already)."""
    try:
        text = catalog(locale)[key]
    except KeyError as exc:
        raise RenderError(f"no text {key!r} in the {locale} catalog") from exc
    safe = {k: v if isinstance(v, Mrkdwn) else escape_mrkdwn(_plain_str(v)) for k, v in params.items()}
    return Mrkdwn(text.format(**safe))


def _plain_str(value: Any) -> str:
    return "" if value is None else str(value)


def mention(user_id: str) -> Mrkdwn:
    if not _SLACK_ID.match(user_id or ""):
        raise RenderError(f"not a Slack user id: {user_id!r}")
    return Mrkdwn(f"<@{user_id}>")


def subteam_mention(group_id: str) -> Mrkdwn:
    if not _SLACK_ID.match(group_id or ""):
        raise RenderError(f"not a Slack user group id: {group_id!r}")
    return Mrkdwn(f"<!subteam^{group_id}>")


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


class Renderer:
    def __init__(self, template_dir: Path = HERE / "templates"):
        self.env = Environment(
            loader=FileSystemLoader(template_dir),
            undefined=StrictUndefined,
            finalize=_finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code: no stat() of every template on every render
        )
        self.env.filters.update(
            json=lambda v: JsonFragment(json.dumps(v, ensure_ascii=False)),
            plain=lambda v: JsonFragment(_json_body(_plain_str(v))),
            mask_phone=mask_phone,
            mask_name=mask_name,
            clip=clip,
            scrub=scrub,  # free text in channel posts: phones and emails masked (issue 9)
        )
        self.env.globals.update(mention=mention, subteam_mention=subteam_mention, t=_t, tp=_tp,
                                date=_date, datetime=_datetime, time=_time, span=_span,
                                reason=_reason, kind_label=_kind_label)

    def warm(self) -> Renderer:
        """Compile every template now (~0.25 s for all), not at its first message: `carebot serve` does it before
        it forks its worker processes, which then share the compiled templates and texts, and the first escalation
        post, confirmation or page of the day does not pay for its compilation."""
        for name in self.env.list_templates(extensions=("j2",)):
            self.env.get_template(name)
        for locale in LOCALES:  # and each language's texts and Babel's data (~0.2 s at the first message else)
            catalog(locale)
            _BABEL_LOCALE[locale].date_formats  # noqa: B018 - loads the locale's data
        return self

    def _render(self, name: str, locale: str, context: dict[str, Any]) -> dict[str, Any]:
        if locale not in LOCALES:
            raise RenderError(f"unknown locale {locale!r}")
        raw = self.env.get_template(name).render(locale=locale, **context)
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RenderError(f"{name} did not render to JSON: {exc}") from exc

    def message(self, name: str, locale: str, **context: Any) -> Message:
        payload = self._render(name, locale, context)
        message = Message(text=payload.get("text", ""), blocks=payload.get("blocks", []))
        validate_blocks(message.blocks, MAX_MESSAGE_BLOCKS)
        if not message.text.strip():
            raise RenderError(f"{name} has no fallback text")
        return message

    def options(self, name: str, locale: str, **context: Any) -> list[dict[str, Any]]:
        options = self._render(name, locale, context)["options"]
        if len(options) > MAX_OPTIONS:
            raise RenderError(f"{len(options)} options, Slack takes at most {MAX_OPTIONS}")
        try:
            for option in Option.parse_all(options) or []:
                option.validate_json()
        except Exception as exc:
            raise RenderError(f"Slack would refuse these options: {exc}") from exc
        return options

    def view(self, name: str, locale: str, **context: Any) -> dict[str, Any]:
        payload = self._render(name, locale, context)
        validate_view(payload)
        return payload


def validate_blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    if not blocks:
        raise RenderError("a message without blocks")
    if len(blocks) > limit:
        raise RenderError(f"{len(blocks)} blocks, Slack takes at most {limit}")
    try:
        for block in Block.parse_all(blocks):
            if block is None:
                raise RenderError("unknown block type")
            block.validate_json()
    except RenderError:
        raise
    except Exception as exc:  # slack_sdk raises SlackObjectFormationError and plain ValueErrors
        raise RenderError(f"Slack would refuse these blocks: {exc}") from exc


def validate_view(view: dict[str, Any]) -> None:
    """The view and each of its blocks as slack_sdk checks them; the blocks are parsed once (View parses them)."""
    blocks = view.get("blocks", [])
    if not blocks:
        raise RenderError("a view without blocks")
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise RenderError(f"{len(blocks)} blocks, Slack takes at most {MAX_VIEW_BLOCKS}")
    try:
        parsed = View(**view)
        for block in parsed.blocks or []:
            if block is None:
                raise RenderError("unknown block type")
            block.validate_json()
        parsed.validate_json()
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"Slack would refuse this view: {exc}") from exc


@pass_context
def _t(ctx: Any, key: str, **params: Any) -> Mrkdwn:
    return translate(ctx["locale"], key, **params)


@pass_context
def _reason(ctx: Any, rule: str, params: dict[str, Any]) -> Mrkdwn:
    """Why a callback exists, e.g. "+7 days after first purchase on 2026-11-02"; unknown rules by name."""
    locale, params = ctx["locale"], dict(params or {})
    key = f"rule.{rule}"
    if f"{key}.{params.get('reason')}" in catalog(locale):  # one rule, several reasons (churn risk)
        key = f"{key}.{params['reason']}"
    params.setdefault("after", _delay(locale, params))
    if rule == "holiday.greeting" and params.get("holiday") and params.get("anchor"):  # named in their language
        from bot.care.triggers import holiday_name_in

        try:
            day = dt.date.fromisoformat(str(params["anchor"]))
        except ValueError:
            day = None
        if day is not None:  # planned before the country was kept: the default calendar's
            params["holiday"] = holiday_name_in(str(params["holiday"]), str(params.get("country") or "CN"), day,
                                                locale)
    if f"cadence.{params.get('cadence')}" in catalog(locale):  # the periodic preset's row, e.g. high_value
        params["cadence"] = catalog(locale)[f"cadence.{params['cadence']}"]
    if "fields" in params:  # a record's missing key fields, each named in the person's language
        names = [catalog(locale).get(f"record_field.{f.strip()}", f.strip()) for f in str(params["fields"]).split(",")]
        params["fields"] = "、".join(names) if locale.startswith("zh") else ", ".join(names)
    if key in catalog(locale):
        try:
            return translate(locale, key, **params)
        except KeyError:
            pass
    return translate(locale, "rule.other", rule=rule)


def _delay(locale: str, params: dict[str, Any]) -> str:
    """A rule's delay as a person says it ("1 month(s) 7 day(s)", "24 小时"), from its months/days/hours."""
    texts = catalog(locale)
    parts = [texts[f"delay.{unit}_one" if str(params[unit]) == "1" else f"delay.{unit}"].format(n=params[unit])
             for unit in ("months", "days", "hours")
             if str(params.get(unit, "0")) not in ("", "0") and f"delay.{unit}" in texts]
    return " ".join(parts) or texts.get("delay.days", "{n}").format(n=0)


@pass_context
def _kind_label(ctx: Any, kind: str) -> Mrkdwn:
    key = f"kind.{kind}"
    return translate(ctx["locale"], key if key in catalog(ctx["locale"]) else "kind.manual")


@pass_context
def _tp(ctx: Any, key: str, **params: Any) -> JsonFragment:
    """A catalog text for plain_text fields: no mrkdwn escaping, JSON-encoded."""
    text = catalog(ctx["locale"]).get(key)
    if text is None:
        raise RenderError(f"no text {key!r} in the {ctx['locale']} catalog")
    return JsonFragment(_json_body(text.format(**{k: _plain_str(v) for k, v in params.items()})))


@pass_context
def _date(ctx: Any, value: dt.date | dt.datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(_zone(tz)).date() if tz else value.date()
    return _medium_date(value, ctx["locale"])


@lru_cache(maxsize=1024)  # a queue's rows repeat a few days: Babel's formatting is a list's dearest call
def _medium_date(day: dt.date, locale: str) -> str:
    return format_date(day, format="medium", locale=_BABEL_LOCALE[locale])


@pass_context
def _datetime(ctx: Any, value: dt.datetime | None, tz: str) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="short", tzinfo=_zone(tz), locale=_BABEL_LOCALE[ctx["locale"]])


@pass_context
def _time(ctx: Any, value: dt.datetime, tz: str) -> str:
    return format_time(value, format="short", tzinfo=_zone(tz), locale=_BABEL_LOCALE[ctx["locale"]])


@pass_context
def _span(ctx: Any, delta: dt.timedelta, working: bool = False) -> str:
    """A duration as a person says it, never more than it is: "1 day 12 hours", "2天4小时", "40 minutes";
    `working`: a span of working time, said in hours ("55 hours", not "2 days": a working day is not 24 hours)."""
    return span_text(delta, ctx["locale"], working)


# the units a span is said in, largest first; a span of working time stops at hours
_SPAN_UNITS = {False: (("day", 86400), ("hour", 3600), ("minute", 60)), True: (("hour", 3600), ("minute", 60))}


def span_text(delta: dt.timedelta, locale: str, working: bool = False) -> str:
    """`delta` (its size) in its largest unit and the next one, each rounded down, in Babel's words for `locale`:
    36 h is "1 day 12 hours" (Babel's format_timedelta said "2 days"), 10 days 20 hours "10 days 20 hours" (it said
    "2 weeks"), 2 days 0 h 30 min "2 days"; under a minute, seconds. Nothing is rounded up: a lateness is never
    said bigger, nor a time left longer, than it is."""
    return _span_words(abs(delta) // dt.timedelta(seconds=1), locale, working)


@lru_cache(maxsize=4096)  # a list's rows repeat a few spans; Babel's unit formatting is not free
def _span_words(seconds: int, locale: str, working: bool) -> str:
    babel = _BABEL_LOCALE[locale]
    units = _SPAN_UNITS[working]
    if seconds < units[-1][1]:
        return format_unit(seconds, "duration-second", length="long", locale=babel)
    first = next(i for i, (_, size) in enumerate(units) if seconds >= size)
    parts = []
    for name, size in units[first:first + 2]:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(format_unit(amount, f"duration-{name}", length="long", locale=babel))
    return format_list(parts, style="unit-narrow", locale=babel)


def _zone(tz: str | None) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz or "UTC")
