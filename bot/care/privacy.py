"""Masking for anything shown outside the authorised circle (care-domain §8)."""

from __future__ import annotations

import phonenumbers


def mask_phone(e164: str | None) -> str:
    """+8613812345678 -> 138****5678 (the mainland mobile form of care-domain §8); any other number shows at
    most half its national digits, whatever the country: +852 9123 4567 -> 91****67, 010-12345678 ->
    10*****678."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
        national, country = str(number.national_number), number.country_code
    except phonenumbers.NumberParseException:
        national, country = "".join(ch for ch in e164 if ch.isdigit()), None
    if country == 86 and len(national) == 11 and national.startswith("1"):
        return national[:3] + "****" + national[-4:]
    shown = len(national) // 2
    head = shown // 2
    tail = shown - head
    return national[:head] + "*" * (len(national) - shown) + (national[-tail:] if tail else "")


def mask_name(name: str) -> str:
    """张女士 -> 张*, Alice Smith -> A*: enough for a colleague to recognise, not for a stranger."""
    name = name.strip()
    return name[:1] + "*" if name else ""


def normalise_phone(raw: str, region: str = "CN") -> str:
    """A valid number in E.164, or ValueError. Mainland mobiles are 11 digits."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
