"""Masking for anything shown outside the authorised circle (care-domain §8)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers


def mask_phone(e164: str | None) -> str:
    """+8613812345678 -> 138****5678 (the mainland mobile form of care-domain §8); any other number shows at
    most half its national digits, whatever the country, written as it is dialled at home (with its national
    prefix, which is no digit of the number): +852 9123 4567 -> 91****67, +86 10 1234 5678 (010-12345678) ->
    010*****678, +44 20 7946 0000 -> 020*****000."""
    if not e164:
        return ""
    if _E164_CN_MOBILE.fullmatch(e164):  # most numbers of a Chinese team's book: no parse needed
        return e164[3:6] + "****" + e164[-4:]
    return _mask_phone(e164)


_E164_CN_MOBILE = re.compile(r"\+861\d{10}")


@lru_cache(maxsize=8192)  # parsing a number is the dearest part of a queue row: once per customer's phone
def _mask_phone(e164: str) -> str:
    prefix = ""
    try:
        number = phonenumbers.parse(e164, None)
        national, country = str(number.national_number), number.country_code
        dialled = "".join(ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
                          if ch.isdigit())
        if dialled.endswith(national):
            prefix = dialled[:len(dialled) - len(national)]  # the national prefix: 0 in China, the UK, Taiwan …
    except phonenumbers.NumberParseException:
        national, country = "".join(ch for ch in e164 if ch.isdigit()), None
    if country == 86 and len(national) == 11 and national.startswith("1"):
        return national[:3] + "****" + national[-4:]
    shown = len(national) // 2
    head = shown // 2
    tail = shown - head
    return prefix + national[:head] + "*" * (len(national) - shown) + (national[-tail:] if tail else "")


def mask_name(name: str) -> str:
    """张女士 -> 张*, Alice Smith -> A*: enough for a colleague to recognise, not for a stranger."""
    name = name.strip()
    return name[:1] + "*" if name else ""


def normalise_phone(raw: str, region: str = "CN") -> str:
    """A valid number in E.164, or ValueError. Mainland mobiles are 11 digits.

    Mainland mobiles (bare, or after +86 / 0086 / 86, with spaces, dashes or brackets) take a fast path that
    asks `phonenumbers` once per number block (the first 7 digits; its patterns fix at most 5): an import of
    100,000 rows would otherwise spend most of its time parsing. Everything else goes through `phonenumbers`."""
    if region == "CN":
        match = _CN_MOBILE.fullmatch(_SEPARATORS.sub("", raw))
        if match is not None:
            national = match.group(1)
            if _valid_cn_mobile_block(national[:7]):
                return "+86" + national
            raise ValueError(f"not a valid phone number: {raw!r}")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_SEPARATORS = re.compile(r"[\s\-().]")
_CN_MOBILE = re.compile(r"(?:\+86|0086|86)?(1\d{10})")


@lru_cache(maxsize=4096)
def _valid_cn_mobile_block(first7: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(first7 + "0000", "CN"))
