"""The names of the customer segments (care-domain §3): value tier, activity, lifecycle.

Plain enums with no behaviour, so the rules (bot.care.rules) and the segmentation (bot.care.segments) can
both name them without importing each other.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    HIGH_VALUE = "high_value"  # 高价值 (VIP)
    POTENTIAL = "potential"  # 潜力
    ORDINARY = "ordinary"  # 普通


class Activity(StrEnum):
    ACTIVE = "active"  # 活跃
    SILENT = "silent"  # 沉默
    CHURN_RISK = "churn_risk"  # 流失风险
    UNKNOWN = "unknown"  # no interaction and no deal on record


class Lifecycle(StrEnum):
    PROSPECT = "prospect"  # 潜在
    NEW = "new"  # 新成交
    EXISTING = "existing"  # 老客户
