"""Brand words: the vendor's brand with words such as 'support' or 'login' before or after it."""

from __future__ import annotations

from collections.abc import Iterable

MIN_BRAND = 4  # shortest brand (compact skeleton) matched exactly or with words around it
_MAX_WORD_STATES = 48

BRAND_WORDS = frozenset(
    """
    support helpdesk help desk servicedesk service services security secure billing bill it
    update updates upgrade login logon signin signon sso auth verify verification portal team
    admin pay payment payments invoice invoices account accounts mail email online web my app
    apps cloud corp inc group hr tech customer customers care password reset mfa alert alerts
    notice info official access client clients remote connect vpn office status contact center
    centre hq global safe id ops refund ticket tickets docs files share system systems network
    helpline hotline live chat direct renew renewal license licensing partner partners
    """.split()  # noqa: SIM905
)
_WORD_LENGTHS = tuple(sorted({len(w) for w in BRAND_WORDS}))


def strip_words(compact: str) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Every core left after removing one or more brand words from either end, with the words."""
    seen = {compact}
    frontier: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(compact, (), ())]
    while frontier and len(seen) < _MAX_WORD_STATES:
        following: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        for text, before, after in frontier:
            for n in _WORD_LENGTHS:
                if len(text) - n < MIN_BRAND:
                    break
                head, tail = text[:n], text[-n:]
                if head in BRAND_WORDS and text[n:] not in seen:
                    seen.add(text[n:])
                    following.append((text[n:], (*before, head), after))
                if tail in BRAND_WORDS and text[:-n] not in seen:
                    seen.add(text[:-n])
                    following.append((text[:-n], before, (tail, *after)))
        for core, before, after in following:
            yield core, (*before, *after)
        frontier = following
