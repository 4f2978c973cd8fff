"""Pure rules of issue 9 outside the import: Slack's length limits on customer text, the phone mask."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.care.privacy import mask_phone
from messages.render import SLACK_TEXT_LIMITS, clip


@given(st.text(max_size=300), st.sampled_from(sorted(SLACK_TEXT_LIMITS)))
def test_clip_fits_the_limit_and_says_when_it_cut(text, field):
    limit = SLACK_TEXT_LIMITS[field]
    cut = clip(text, field)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    else:
        assert cut.endswith("…") and text.startswith(cut[:-1])


def test_clip_keeps_a_75_character_option_and_cuts_a_76_character_one():
    assert clip("x" * 75, "option") == "x" * 75
    assert clip("x" * 76, "option") == "x" * 74 + "…"


def test_short_numbers_show_at_most_half_their_digits():
    assert mask_phone("+85291234567") == "91****67"  # was 912*4567: 7 of 8 digits
    assert mask_phone("+85366123456") == "66****56"
    assert mask_phone("+861012345678") == "010*****678"  # Beijing landline, as it is dialled: 010-…
    assert mask_phone("+862161234567") == "021*****567"  # Shanghai
    assert mask_phone("+442079460000") == "020*****000"  # London: the national prefix kept there too
    assert mask_phone("+8613812345678") == "138****5678"  # the mainland mobile form of care-domain §8


@given(st.sampled_from(["+852", "+853", "+886", "+1", "+44", "+86"]), st.integers(3, 12), st.data())
def test_no_mask_shows_more_than_half_the_digits_except_mainland_mobiles(prefix, length, data):
    digits = data.draw(st.text("0123456789", min_size=length, max_size=length))
    national = "9" + digits[1:]
    masked = mask_phone(prefix + national)
    # a national prefix (the 0 of 010-…, 0912 …) is how the number is dialled, not a digit of it
    number = masked[1:] if masked.startswith("0") and national[0] != "0" else masked
    shown = sum(ch.isdigit() for ch in number)
    assert len(number) >= 1
    assert shown <= len(number) // 2 or (prefix == "+86" and masked.count("*") == 4 and len(masked) == 11)


@given(st.text("0123456789", min_size=10, max_size=10))
def test_a_mainland_mobile_is_masked_as_phonenumbers_reads_it(digits):
    # mask_phone skips the parse for +86 1xxxxxxxxxx (the Home's and lists' rows): the same mask as parsing it
    from bot.care.privacy import _mask_phone

    number = "+861" + digits
    assert mask_phone(number) == _mask_phone.__wrapped__(number) == "1" + digits[:2] + "****" + digits[-4:]
