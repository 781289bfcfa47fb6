"""Phone numbers in the registry's forms: E.164 (stored, compared) and international (shown).

phonenumbers is imported on first use: a cached registry and a domain check never need it.
"""

from __future__ import annotations

import functools

DEFAULT_REGION = "US"


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of a phone number or raise ValueError."""
    import phonenumbers  # here: a cached registry and a domain check never need it

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} cannot be parsed: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"phone {raw!r} is not a possible number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1024)
def display_phone(e164: str) -> str:
    """International display form (+1 206-555-0142) of an E.164 number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
