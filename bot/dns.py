"""DNS: an async resolver with a TTL cache and typed outcomes, plus a sync adapter.

Outcomes are kept apart: an answer, NXDOMAIN, no data, or a temporary failure (timeout,
SERVFAIL, refused). A temporary failure is never cached for long and never reads as "absent".

Synchronous libraries (pyspf, dkimpy, checkdmarc) get the same nameservers, cache and snapshot
through :meth:`Resolver.sync` (typed outcomes) or :meth:`Resolver.dnspython` (a
``dns.resolver.Resolver`` that raises dnspython's own exceptions).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import dns._features

# deskguard never speaks DNS over HTTPS: without this, dns.asyncresolver imports the whole DoH
# stack (httpx, h2, anyio: ~100 ms at start-up). Must run before dns.query is imported.
dns._features.force("doh", False)
# nor over QUIC: without this, dns.query looks for aioquic's package metadata (a scan of every
# installed distribution) at import.
dns._features.force("doq", False)

import dns.asyncresolver  # noqa: E402
import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.nameserver  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.resolver  # noqa: E402

from bot.errors import ConfigError  # noqa: E402

NEGATIVE_TTL_DEFAULT = 60
NEGATIVE_TTL_MAX = 300
TEMPERROR_TTL = 2.0
CACHE_MAX_ENTRIES = 50_000


_P = ParamSpec("_P")
_T = TypeVar("_T")


class CacheMiss(BaseException):
    """Raised by :meth:`Resolver.query_sync` inside :meth:`Resolver.cache_only` on a cache miss.

    A BaseException, so that libraries' ``except Exception`` cannot swallow it; a library that
    swallows it anyway is caught by the probe's ``missed`` flag.
    """


@dataclass
class CacheProbe:
    """Set by :meth:`Resolver.cache_only`: whether any look-up missed the cache."""

    missed: bool = False


class Outcome(enum.StrEnum):
    """What a DNS look-up came to."""

    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TEMPERROR = "temperror"


@dataclass(frozen=True, slots=True)
class DnsResult:
    """One look-up: records as text (TXT strings joined per record, others in zone form)."""

    name: str
    rdtype: str
    outcome: Outcome
    records: tuple[str, ...] = ()
    ttl: int = 0
    error: str | None = None

    @property
    def found(self) -> bool:
        """True when there is at least one record."""
        return self.outcome is Outcome.ANSWER and bool(self.records)

    @property
    def temporary(self) -> bool:
        """True when the look-up could not be completed (try again later)."""
        return self.outcome is Outcome.TEMPERROR


LookupObserver = Callable[[str, float, Outcome], None]


@dataclass
class _Entry:
    result: DnsResult
    expires: float


@dataclass
class _Cache:
    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, str], now: float) -> DnsResult | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry.expires <= now:
                del self.entries[key]
                return None
            return entry.result

    def put(self, key: tuple[str, str], result: DnsResult, now: float) -> None:
        if result.outcome is Outcome.TEMPERROR:
            lifetime = TEMPERROR_TTL
        elif result.outcome is Outcome.ANSWER:
            lifetime = float(result.ttl)
        else:
            lifetime = float(min(result.ttl or NEGATIVE_TTL_DEFAULT, NEGATIVE_TTL_MAX))
        if lifetime <= 0:
            return
        with self.lock:
            if len(self.entries) >= CACHE_MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = _Entry(result, now + lifetime)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _normalize_name(name: str) -> str:
    return name.rstrip(".").lower()


def _rdata_text(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {str(rdata.exchange).rstrip('.').lower()}"
    if rdata.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.NS):
        return str(rdata.target).rstrip(".").lower()
    return str(rdata.to_text())


def _negative_ttl(exc: Exception) -> int:
    response = None
    if isinstance(exc, dns.resolver.NXDOMAIN):
        responses = exc.responses()
        response = next(iter(responses.values()), None) if responses else None
    elif isinstance(exc, dns.resolver.NoAnswer):
        response = exc.response()
    if isinstance(response, dns.message.Message):
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                return int(min(rrset.ttl, rrset[0].minimum))
    return NEGATIVE_TTL_DEFAULT


class Snapshot:
    """Recorded DNS answers for offline, reproducible runs (like mailauth's ``--dns-cache``).

    JSON: ``{"name": {"TXT": ["v=spf1 -all"], "MX": ["10 mx.example"], "TIMEOUT": true}}``.
    A name missing from the file is NXDOMAIN; a type missing under a present name is no data.
    """

    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self.data = {
            _normalize_name(k): {t.upper(): v for t, v in d.items()} for k, d in data.items()
        }

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Read a snapshot file; raise ConfigError when it is not usable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"DNS snapshot {path}: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ConfigError(f"DNS snapshot {path}: expected an object of names to record types")
        return cls(data)

    def lookup(self, name: str, rdtype: str) -> DnsResult:
        """Answer one question from the snapshot."""
        entry = self.data.get(name)
        if entry is None:
            return DnsResult(name, rdtype, Outcome.NXDOMAIN, ttl=300)
        if entry.get("TIMEOUT"):
            return DnsResult(name, rdtype, Outcome.TEMPERROR, error="timeout (snapshot)")
        records = entry.get(rdtype)
        if not records:
            return DnsResult(name, rdtype, Outcome.NODATA, ttl=300)
        return DnsResult(name, rdtype, Outcome.ANSWER, tuple(str(r) for r in records), ttl=300)


class Resolver:
    """Async DNS with a TTL-honouring cache, coalesced in-flight queries and typed outcomes."""

    def __init__(
        self,
        nameservers: Iterable[tuple[str, int]] = (),
        *,
        timeout: float = 3.0,
        snapshot: Snapshot | None = None,
        observer: LookupObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nameservers = list(nameservers)
        self.timeout = timeout
        self.snapshot = snapshot
        self.observer = observer
        self._clock = clock
        self._cache = _Cache()
        self._inflight: dict[tuple[str, str], asyncio.Future[DnsResult]] = {}
        self._async = self._configure(dns.asyncresolver.Resolver) if snapshot is None else None
        self._sync_local = threading.local()

    @classmethod
    def from_settings(cls, settings: Any, observer: LookupObserver | None = None) -> Resolver:
        """Build the resolver that ``settings`` describes."""
        snapshot = Snapshot.load(settings.dns_cache_file) if settings.dns_cache_file else None
        return cls(
            settings.nameservers,
            timeout=settings.dns_timeout,
            snapshot=snapshot,
            observer=observer,
        )

    def _configure(self, factory: Any) -> Any:
        try:
            resolver = factory(configure=not self.nameservers)
        except dns.resolver.NoResolverConfiguration as exc:
            raise ConfigError(
                f"DESKGUARD_DNS_NAMESERVERS: empty and no system resolver ({exc})"
            ) from None
        if self.nameservers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in self.nameservers
            ]
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout
        resolver.retry_servfail = False
        resolver.cache = None
        return resolver

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        self._cache.clear()

    async def query(self, name: str, rdtype: str = "A") -> DnsResult:
        """Look up one name and type; never raises for DNS failures."""
        key = (_normalize_name(name), rdtype.upper())
        cached = self._cache.get(key, self._clock())
        if cached is not None:
            return cached
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[DnsResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._lookup_async(*key)
            self._cache.put(key, result, self._clock())
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise
        finally:
            del self._inflight[key]

    async def query_many(self, keys: Sequence[tuple[str, str]]) -> list[DnsResult]:
        """Look up several (name, type) pairs concurrently; answered inline, without a task
        per look-up, when every answer is already cached."""
        now = self._clock()
        results: list[DnsResult | None] = [
            self._cache.get((_normalize_name(name), rdtype.upper()), now) for name, rdtype in keys
        ]
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            fetched = await asyncio.gather(*(self.query(*keys[i]) for i in missing))
            for i, result in zip(missing, fetched, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def _lookup_async(self, name: str, rdtype: str) -> DnsResult:
        if self.snapshot is not None:
            return self.snapshot.lookup(name, rdtype)
        started = time.perf_counter()
        try:
            assert self._async is not None
            answer = await self._async.resolve(name, rdtype, search=False, raise_on_no_answer=True)
            result = self._from_answer(name, rdtype, answer)
        except Exception as exc:
            result = self._from_exception(name, rdtype, exc)
        self._observe(rdtype, started, result)
        return result

    def _observe(self, rdtype: str, started: float, result: DnsResult) -> None:
        if self.observer is not None:
            self.observer(rdtype, time.perf_counter() - started, result.outcome)

    @staticmethod
    def _from_answer(name: str, rdtype: str, answer: Any) -> DnsResult:
        records = tuple(_rdata_text(r) for r in answer)
        ttl = int(answer.rrset.ttl) if answer.rrset is not None else 0
        return DnsResult(name, rdtype, Outcome.ANSWER, records, ttl=ttl)

    @staticmethod
    def _from_exception(name: str, rdtype: str, exc: Exception) -> DnsResult:
        if isinstance(exc, dns.resolver.NXDOMAIN):
            return DnsResult(name, rdtype, Outcome.NXDOMAIN, ttl=_negative_ttl(exc))
        if isinstance(exc, dns.resolver.NoAnswer):
            return DnsResult(name, rdtype, Outcome.NODATA, ttl=_negative_ttl(exc))
        if isinstance(exc, dns.exception.Timeout):
            return DnsResult(name, rdtype, Outcome.TEMPERROR, error="timeout")
        if isinstance(exc, dns.resolver.NoNameservers):
            return DnsResult(name, rdtype, Outcome.TEMPERROR, error="SERVFAIL or refused")
        return DnsResult(name, rdtype, Outcome.TEMPERROR, error=f"{type(exc).__name__}: {exc}")

    # synchronous side, for libraries that run in threads

    @contextlib.contextmanager
    def cache_only(self) -> Iterator[CacheProbe]:
        """On this thread, let :meth:`query_sync` answer only from the cache (or the snapshot):
        a look-up that would go to the network raises :class:`CacheMiss` instead."""
        probe = CacheProbe()
        previous = getattr(self._sync_local, "probe", None)
        self._sync_local.probe = probe
        try:
            yield probe
        finally:
            self._sync_local.probe = previous

    def peek(self, name: str, rdtype: str) -> DnsResult | None:
        """The cached answer for (name, type), or None; never looks anything up."""
        return self._cache.get((_normalize_name(name), rdtype.upper()), self._clock())

    def query_sync(self, name: str, rdtype: str = "A") -> DnsResult:
        """Blocking look-up sharing the cache; safe to call from worker threads."""
        key = (_normalize_name(name), rdtype.upper())
        cached = self._cache.get(key, self._clock())
        if cached is not None:
            return cached
        probe: CacheProbe | None = getattr(self._sync_local, "probe", None)
        if probe is not None and self.snapshot is None:
            probe.missed = True
            raise CacheMiss(f"{key[0]} {key[1]}")
        if self.snapshot is not None:
            result = self.snapshot.lookup(*key)
        else:
            resolver = getattr(self._sync_local, "resolver", None)
            if resolver is None:
                resolver = self._configure(dns.resolver.Resolver)
                self._sync_local.resolver = resolver
            started = time.perf_counter()
            try:
                answer = resolver.resolve(key[0], key[1], search=False)
                result = self._from_answer(key[0], key[1], answer)
            except Exception as exc:
                result = self._from_exception(key[0], key[1], exc)
            self._observe(key[1], started, result)
        self._cache.put(key, result, self._clock())
        return result

    def call_cached(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> tuple[bool, _T | None]:
        """Run a blocking DNS-using ``fn`` here answering only from the cache: ``(True,
        result)``, or ``(False, None)`` when it needed a look-up that is not cached."""
        with self.cache_only() as probe:
            try:
                result = fn(*args, **kwargs)
            except CacheMiss:
                probe.missed = True
        if probe.missed:
            return False, None
        return True, result

    async def run_sync(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run a blocking DNS-using ``fn`` on this thread when every answer it needs is already
        cached (CPU-bound work gains nothing from a thread hop), else in a worker thread."""
        done, result = self.call_cached(fn, *args, **kwargs)
        if done:
            return result  # type: ignore[return-value]
        return await asyncio.to_thread(fn, *args, **kwargs)

    def dnspython(self) -> dns.resolver.Resolver:
        """A ``dns.resolver.Resolver`` backed by this resolver (for checkdmarc and friends)."""
        return _DnspythonAdapter(self)


class _DnspythonAdapter(dns.resolver.Resolver):
    """Speaks dnspython's sync API; answers come from :meth:`Resolver.query_sync`."""

    def __init__(self, owner: Resolver) -> None:
        super().__init__(configure=False)
        self.nameservers = ["127.0.0.1"]
        self._owner = owner

    def resolve(
        self,
        qname: Any,
        rdtype: Any = dns.rdatatype.A,
        rdclass: Any = dns.rdataclass.IN,
        tcp: bool = False,
        source: Any = None,
        raise_on_no_answer: bool = True,
        source_port: int = 0,
        lifetime: float | None = None,
        search: bool | None = None,
    ) -> dns.resolver.Answer:
        name = str(qname).rstrip(".")
        type_text = rdtype if isinstance(rdtype, str) else dns.rdatatype.to_text(rdtype)
        result = self._owner.query_sync(name, type_text)
        qname_obj = dns.name.from_text(name)
        if result.outcome is Outcome.NXDOMAIN:
            raise dns.resolver.NXDOMAIN(qnames=[qname_obj])
        if result.outcome is Outcome.TEMPERROR:
            if result.error == "timeout" or (result.error or "").startswith("timeout"):
                raise dns.resolver.LifetimeTimeout(timeout=self._owner.timeout, errors=[])
            raise dns.resolver.NoNameservers(request=None, errors=[])
        rdtype_value = dns.rdatatype.from_text(type_text)
        answer = _make_answer(qname_obj, rdtype_value, result)
        if raise_on_no_answer and (result.outcome is Outcome.NODATA or not result.records):
            raise dns.resolver.NoAnswer(response=answer.response)
        return answer

    def query(self, *args: Any, **kwargs: Any) -> dns.resolver.Answer:
        return self.resolve(*args, **kwargs)


def _make_answer(
    qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, result: DnsResult
) -> dns.resolver.Answer:
    request = dns.message.make_query(qname, rdtype)
    response = dns.message.make_response(request)
    if result.records:
        texts = [_to_zone_text(rdtype, r) for r in result.records]
        rrset = response.find_rrset(response.answer, qname, dns.rdataclass.IN, rdtype, create=True)
        for text in texts:
            rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, text), ttl=result.ttl)
    return dns.resolver.Answer(qname, rdtype, dns.rdataclass.IN, response)  # type: ignore[arg-type]


def _to_zone_text(rdtype: dns.rdatatype.RdataType, record: str) -> str:
    if rdtype == dns.rdatatype.TXT:
        raw = record.encode("utf-8")
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return " ".join('"' + _escape_txt(c) + '"' for c in chunks)
    if rdtype in (dns.rdatatype.MX,):
        pref, _, host = record.partition(" ")
        return f"{pref} {host}."
    if rdtype in (dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.NS):
        return record + "."
    return record


def _escape_txt(chunk: bytes) -> str:
    out = []
    for byte in chunk:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)
