"""Masking for anything shown outside the authorised circle (care-domain §8)."""

from __future__ import annotations

import phonenumbers


def mask_phone(e164: str | None) -> str:
    """+8613812345678 -> 138****5678: keep the first three and last four national digits."""
    if not e164:
        return ""
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in e164 if ch.isdigit())
    if len(national) <= 7:
        return national[:1] + "*" * (len(national) - 1) if national else ""
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


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
