"""Domains and addresses: IDNA normalization, registrable domain (PSL), strict address parsing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import publicsuffixlist
from publicsuffixlist import PublicSuffixList

from bot.cachedir import default_cache_dir, read_private, write_private
from bot.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    """The Public Suffix List, built on first use, not at import: from the prebuilt table in the
    user's cache (~5 ms) when there is one for the installed list, else parsed (~40-70 ms: every
    rule IDNA-encoded) and the table saved for the next process."""
    path = psl_table_path()
    if path is None:
        return PublicSuffixList()
    data = read_private(path.parent, path.name)  # the table decides DMARC alignment
    try:
        rules = data.decode("utf-8").splitlines() if data is not None else []
        if rules and rules[0] == _PSL_TABLE_MAGIC:
            return PublicSuffixList(rules[1:], accept_encoded_idn=False)
    except UnicodeDecodeError:
        pass
    psl = PublicSuffixList()
    _save_psl_table(path, psl)
    return psl


_PSL_TABLE_MAGIC = "# deskguard prebuilt public suffix table v1"


def psl_table_path() -> Path | None:
    """Where the prebuilt table for the installed publicsuffixlist lives (XDG cache)."""
    source = Path(publicsuffixlist.PSLFILE)
    try:
        stat = source.stat()
        stamp = f"{stat.st_size}-{int(stat.st_mtime)}"
    except OSError:
        stamp = "unknown"
    version = getattr(publicsuffixlist, "__version__", "unknown")
    folder = default_cache_dir()  # never a shared place such as /tmp: others could plant a table
    return None if folder is None else folder / f"psl-{version}-{stamp}.txt"


def _save_psl_table(path: Path, psl: PublicSuffixList) -> None:
    """Write the parsed rules (IDNA forms included) for the next process; best effort."""
    rules = sorted(getattr(psl, "_publicsuffix", ()))
    if not rules or getattr(psl, "_maxlabel", None) != max(r.count(".") + 1 for r in rules):
        return  # the library's internals changed: keep parsing
    table = "\n".join([_PSL_TABLE_MAGIC, *rules]) + "\n"
    write_private(path.parent, path.name, table.encode("utf-8"))


class InvalidName(InputError):
    """A domain or address is not well formed."""


def _has_forbidden_chars(text: str) -> bool:
    if text.isascii():  # the only such ASCII: controls (Cc) and the space (Zs)
        return not text.isprintable() or " " in text
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp", "Zs", "Cs", "Co", "Cn"):
            return True
    return False


@lru_cache(maxsize=65536)
def normalize_domain(raw: str) -> str:
    """Return the lower-case ASCII (punycode) form of a domain, or raise InvalidName.

    Accepts Unicode or punycode, one trailing dot. Rejects control and format characters,
    whitespace, empty labels, and anything but letters, digits and hyphens.
    """
    if not isinstance(raw, str) or not raw:
        raise InvalidName("empty domain")
    if _has_forbidden_chars(raw):
        raise InvalidName(f"domain contains control, format or space characters: {raw!r}")
    text = raw[:-1] if raw.endswith(".") else raw
    text = unicodedata.normalize("NFC", text)
    if not text or len(text) > 253 * 4:
        raise InvalidName(f"bad domain length: {raw!r}")
    labels = text.split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise InvalidName(f"empty label in domain {raw!r}")
        if label.isascii():
            ascii_label = label.lower()
        else:
            try:
                ascii_label = label.encode("idna").decode("ascii").lower()
            except UnicodeError as exc:
                raise InvalidName(f"domain label {label!r} is not valid IDNA: {exc}") from None
        if not _LABEL.match(ascii_label):
            raise InvalidName(f"invalid label {label!r} in domain {raw!r}")
        if ascii_label.startswith("xn--"):
            try:
                ascii_label.encode("ascii").decode("idna")
            except UnicodeError:
                raise InvalidName(f"invalid punycode label {label!r} in {raw!r}") from None
        out.append(ascii_label)
    result = ".".join(out)
    if len(result) > 253:
        raise InvalidName(f"domain longer than 253 characters: {raw!r}")
    if len(out) < 2:
        raise InvalidName(f"not a fully qualified domain: {raw!r}")
    return result


def to_unicode(domain: str) -> str:
    """Display form of an ASCII domain (punycode labels decoded where valid)."""
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                labels.append(label.encode("ascii").decode("idna"))
                continue
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str:
    """The organizational (registrable) domain of a normalized domain per the PSL.

    A domain that is itself a public suffix is returned unchanged.
    """
    reg = _psl().privatesuffix(domain)
    return reg if reg else domain


@lru_cache(maxsize=4096)
def public_suffix(domain: str) -> str:
    """The public suffix (e.g. ``co.uk``) of a normalized domain (the list is fixed for the
    process, so each answer is kept)."""
    return _psl().publicsuffix(domain) or domain.rsplit(".", 1)[-1]


# Special-use top-level names (RFC 2606, 6761, 6762, 7686, 9476): not in the public suffix list,
# yet names under them are domains to any mail or chat client.
_SPECIAL_USE = frozenset(
    {"example", "test", "invalid", "localhost", "local", "onion", "internal", "arpa", "alt"}
)


@lru_cache(maxsize=4096)  # cards defang the same names over and over
def ends_in_public_suffix(name: str) -> bool:
    """True when ``name`` is a real domain: two labels or more ending in a public suffix (or a
    special-use name such as ``.example``). ``j.doe`` and ``setup.exe`` are not."""
    text = name.rstrip(".")
    if "." not in text:
        return False
    if text.rsplit(".", 1)[-1].lower() in _SPECIAL_USE:
        return True
    try:
        domain = normalize_domain(text)
    except InvalidName:
        return False
    return _psl().publicsuffix(domain, accept_unknown=False) is not None


def is_subdomain_of(domain: str, parent: str) -> bool:
    """True when ``domain`` equals ``parent`` or lies below it."""
    return domain == parent or domain.endswith("." + parent)


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed mailbox: local part and normalized domain."""

    local: str
    domain: str

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"


def parse_address(raw: str) -> Address:
    """Parse one bare address (``local@domain``) strictly; raise InvalidName otherwise."""
    if not isinstance(raw, str):
        raise InvalidName("address must be text")
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if _has_forbidden_chars(text):
        raise InvalidName(f"address contains control, format or space characters: {raw!r}")
    if text.count("@") != 1:
        raise InvalidName(f"not a single address: {raw!r}")
    local, domain = text.split("@")
    if not local or not _LOCAL_ATOM.match(local) or local.startswith(".") or ".." in local:
        raise InvalidName(f"bad local part in address {raw!r}")
    return Address(local=local.lower(), domain=normalize_domain(domain))


def looks_like_address(text: str) -> bool:
    """Cheap test: one ``@`` with something on both sides."""
    return text.count("@") == 1 and not text.startswith("@") and not text.endswith("@")


def defang(domain_or_url: str) -> str:
    """Render a domain or URL harmless to click: ``evil[.]example``, ``hxxps://``."""
    text = domain_or_url.replace("http://", "hxxp://").replace("https://", "hxxps://")
    return text.replace(".", "[.]")
