"""SLA targets and escalation rules, loaded from YAML over the shipped defaults (sla_default.yaml).

The defaults live only in the YAML file; the models below carry no default values, so a team file
is merged key by key into the default document before validation. Errors name the key path and the
line of the team file where the bad value sits.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BeforeValidator, ValidationError, field_validator, model_validator

from bot.care.calendar import WorkCalendar
from bot.care.calendar_rules import CalendarRules, TimeRange, _AtPath, _Model

__all__ = ["CalendarRules", "TimeRange"]  # the calendar section, re-exported for callers of this module

Kind = Literal["complaint", "inquiry", "suggestion"]
Severity = Literal["low", "normal", "high", "critical"]
Tier = Literal["high_value", "potential", "ordinary"]
ClockName = Literal["first_response", "resolution"]
LevelName = Literal["owner", "supervisors", "manager"]

KINDS: tuple[str, ...] = get_args(Kind)
SEVERITIES: tuple[str, ...] = get_args(Severity)
TIERS: tuple[str, ...] = get_args(Tier)
CLOCKS: tuple[str, ...] = get_args(ClockName)
LEVEL_ORDER: tuple[str, ...] = get_args(LevelName)


class RulesError(ValueError):
    """A rules document is invalid; the message names each bad key path and its YAML line."""


# --- scalar types -----------------------------------------------------------------------------

_UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
                 "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
                 "d": 1440, "day": 1440, "days": 1440}
_DURATION_PART = re.compile(r"\s*(\d+)\s*([a-z]+)\s*")


def parse_duration(value: Any) -> dt.timedelta:
    """Integer minutes, or strings like "90m", "30min", "1h", "24h", "2d", "1h30m"."""
    if isinstance(value, dt.timedelta):
        minutes = value / dt.timedelta(minutes=1)
        if minutes != int(minutes):
            raise ValueError(f"duration {value} is not a whole number of minutes")
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        return dt.timedelta(minutes=value)
    if isinstance(value, str):
        text = value.strip().lower()
        total, pos = 0, 0
        while pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if not match or match.group(2) not in _UNIT_MINUTES:
                break
            total += int(match.group(1)) * _UNIT_MINUTES[match.group(2)]
            pos = match.end()
        if text and pos == len(text):
            return dt.timedelta(minutes=total)
    raise ValueError(f"not a duration: {value!r} (use minutes or e.g. '30m', '1h', '2d')")


def _non_negative(value: dt.timedelta) -> dt.timedelta:
    if value < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    return value


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError("duration must be positive")
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(lambda v: _non_negative(parse_duration(v)))]
PositiveDuration = Annotated[dt.timedelta, BeforeValidator(lambda v: _positive(parse_duration(v)))]

# --- targets ----------------------------------------------------------------------------------

class Target(_Model):
    duration: PositiveDuration
    business_hours: bool

    @model_validator(mode="before")
    @classmethod
    def _is_mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict | Target):
            raise ValueError("a target is a mapping: {duration: ..., business_hours: true|false}")
        return value


class Override(_Model):
    severity: Severity | None = None
    tier: Tier | None = None
    first_response: Target | None = None
    resolution: Target | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Override:
        if self.severity is None and self.tier is None:
            raise ValueError("an override needs a severity and/or a tier")
        if self.first_response is None and self.resolution is None:
            raise ValueError("an override needs first_response and/or resolution")
        return self

    def specificity(self) -> tuple[bool, bool]:
        return (self.severity is not None and self.tier is not None, self.severity is not None)


class KindTargets(_Model):
    first_response: Target | None  # None: this kind has no such clock
    resolution: Target | None
    overrides: tuple[Override, ...]

    @field_validator("overrides")
    @classmethod
    def _no_duplicates(cls, overrides: tuple[Override, ...]) -> tuple[Override, ...]:
        seen: set[tuple[str | None, str | None]] = set()
        for i, override in enumerate(overrides):
            key = (override.severity, override.tier)
            if key in seen:
                raise _AtPath((i,), f"a second override for severity={key[0]} tier={key[1]}")
            seen.add(key)
        return overrides


class Targets(_Model):
    complaint: KindTargets
    inquiry: KindTargets
    suggestion: KindTargets


# --- escalation -------------------------------------------------------------------------------

class Level(_Model):
    name: LevelName
    respects_quiet_hours: bool  # this level's pings about non-urgent complaints wait until quiet hours end
    warn_at: float | None = None  # owner only
    after: Duration | None = None  # breach levels only
    retrigger: PositiveDuration | None = None  # breach levels only

    @model_validator(mode="after")
    def _fields_fit_the_level(self) -> Level:
        if self.name == "owner":
            if self.warn_at is None or not 0 < self.warn_at < 1:
                raise _AtPath(("warn_at",), "the owner level needs warn_at, a fraction between 0 and 1")
            for key in ("after", "retrigger"):
                if getattr(self, key) is not None:
                    raise _AtPath((key,), "the owner level is a warning: it has warn_at, not after/retrigger")
        else:
            if self.warn_at is not None:
                raise _AtPath(("warn_at",), "warn_at belongs to the owner level only")
            for key in ("after", "retrigger"):
                if getattr(self, key) is None:
                    raise _AtPath((key,), f"the {self.name} level needs {key}")
        return self

    @property
    def is_breach_level(self) -> bool:
        return self.name != "owner"


class Urgency(_Model):
    """Which complaints break through quiet hours (PagerDuty's high urgency): any listed severity or tier."""

    severities: tuple[Severity, ...]
    tiers: tuple[Tier, ...]

    def covers(self, severity: str, tier: str) -> bool:
        return severity in self.severities or tier in self.tiers


class EscalationRules(_Model):
    snooze: PositiveDuration
    urgent: Urgency
    levels: tuple[Level, ...]

    @field_validator("levels")
    @classmethod
    def _in_order(cls, levels: tuple[Level, ...]) -> tuple[Level, ...]:
        ranks = [LEVEL_ORDER.index(level.name) for level in levels]
        for i in range(1, len(ranks)):
            if ranks[i] <= ranks[i - 1]:
                raise _AtPath((i, "name"), f"level {levels[i].name!r} is out of order or repeated; "
                              f"the order is {', '.join(LEVEL_ORDER)}")
        if not any(level.is_breach_level for level in levels):
            raise ValueError("at least one breach level (supervisors, manager) is needed")
        return levels

    def level(self, name: str) -> Level | None:
        return next((level for level in self.levels if level.name == name), None)

    def is_urgent(self, severity: str, tier: str) -> bool:
        return self.urgent.covers(severity, tier)


# --- the whole document -----------------------------------------------------------------------

class SlaRules(_Model):
    calendar: CalendarRules
    targets: Targets
    escalation: EscalationRules

    def work_calendar(self) -> WorkCalendar:
        return self.calendar.work_calendar()

    def target_for(self, kind: str, severity: str, tier: str, clock: str) -> Target | None:
        """The target of `clock` for this ticket; None when the kind has no such clock."""
        for name, value, allowed in (("kind", kind, KINDS), ("severity", severity, SEVERITIES),
                                     ("tier", tier, TIERS), ("clock", clock, CLOCKS)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")
        kind_targets: KindTargets = getattr(self.targets, kind)
        matching = [o for o in kind_targets.overrides
                    if o.severity in (None, severity) and o.tier in (None, tier)
                    and getattr(o, clock) is not None]
        if matching:
            return getattr(max(matching, key=Override.specificity), clock)
        return getattr(kind_targets, clock)


# --- loading ----------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text so pydantic reports bad ones by path."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_default_text() -> str:
    return resources.files("bot.care").joinpath("sla_default.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_sla_rules() -> SlaRules:
    return load_sla_rules(_read_default_text())


def load_sla_rules(source: str | Path | None) -> SlaRules:
    """Rules from YAML text or a file path, merged over the defaults. Raises RulesError."""
    text = _source_text(source)
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RulesError(f"not valid YAML{where}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError("the rules document must be a mapping (line 1)")
    merged = _deep_merge(yaml.load(_read_default_text(), Loader=_Loader), data)
    try:
        return SlaRules.model_validate(merged)
    except ValidationError as exc:
        raise RulesError(_describe(exc, node)) from None


def _source_text(source: str | Path | None) -> str:
    if source is None:
        return ""
    if isinstance(source, Path):
        return source.read_text(encoding="utf-8")
    if "\n" not in source and source.strip().endswith((".yaml", ".yml")) and Path(source).is_file():
        return Path(source).read_text(encoding="utf-8")
    return source


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _describe(exc: ValidationError, node: yaml.Node | None) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if part != "[key]")
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _AtPath):
            loc += cause.subpath
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = str(cause) if cause is not None else error["msg"]
        line = _line_of(node, loc)
        where = f" (line {line})" if line else ""
        lines.append(f"{_path_text(loc)}: {message}{where}")
    return "invalid SLA rules:\n  " + "\n  ".join(lines)


def _path_text(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node of the team file on `loc`."""
    if node is None:
        return None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def describe_paging(rules: SlaRules) -> str:
    """The quiet-hours rule in effect, in words (printed by `carebot escalation rules show`)."""
    calendar, escalation = rules.calendar, rules.escalation
    quiet = f"quiet hours {calendar.quiet_hours}"
    if calendar.quiet_on_days_off:
        quiet += " and the team's days off outside working windows"
    held = [level.name for level in escalation.levels if level.respects_quiet_hours]
    urgent = [f"severity {s}" for s in escalation.urgent.severities] + \
        [f"tier {t}" for t in escalation.urgent.tiers]
    lines = [
        f"In {quiet}, pings about a non-urgent complaint to {', '.join(held)} wait until the quiet time ends "
        "(nothing is dropped)." if held else "No level respects quiet hours: every level pings at any hour.",
        f"Urgent complaints ({' or '.join(urgent) or 'none'}) break through quiet hours.",
        "Re-raises and next levels count in their clock's own time: a working-time clock re-raises only "
        "in working time.",
    ]
    return "\n".join(lines)
