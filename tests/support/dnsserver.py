"""A real DNS server on 127.0.0.1 for tests and benchmarks (dnslib, UDP and TCP, threaded).

Zones are plain data: ``{name: [(type, data), ...]}`` where data is text in zone-file form,
or for TXT a string or a list of character-strings. Names in ``timeouts`` are never answered;
(name, TYPE) pairs in ``type_timeouts`` are never answered for that type only; names in
``servfail`` answer SERVFAIL. ``delay`` adds latency to every answer.
Zone files (``*.zone`` in RFC 1035 form) load with :meth:`TestDNSServer.load_zone_file`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dnslib import QTYPE, RCODE, RR, SOA, TXT, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSError, DNSLogger, DNSServer

Record = tuple[str, Any]
ZoneData = Mapping[str, Iterable[Record]]


def _key(name: str) -> str:
    return name.rstrip(".").lower()


class _Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, owner: TestDNSServer) -> None:
        self.owner = owner

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        return self.owner._answer(request)


class _QuietLogger(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-recv,-send,-request,-reply,-truncated,-error,-data")


class TestDNSServer:
    """Serve mutable zone data on 127.0.0.1 (UDP and TCP) from a background thread."""

    __test__ = False  # not a pytest test class

    def __init__(self, port: int = 0, *, delay: float = 0.0) -> None:
        self.records: dict[str, list[tuple[str, Any, int]]] = defaultdict(list)
        self.timeouts: set[str] = set()
        self.type_timeouts: set[tuple[str, str]] = set()
        self.servfail: set[str] = set()
        self.delay = delay
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.port = port or _free_port()
        resolver = _Resolver(self)
        logger = _QuietLogger()
        self._udp = DNSServer(resolver, port=self.port, address="127.0.0.1", logger=logger)
        self._tcp = DNSServer(
            resolver, port=self.port, address="127.0.0.1", tcp=True, logger=logger
        )

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) for the resolver configuration."""
        return ("127.0.0.1", self.port)

    @property
    def nameserver(self) -> str:
        """``127.0.0.1:port`` as DESKGUARD_DNS_NAMESERVERS wants it."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TestDNSServer:
        """Start serving in daemon threads."""
        self._udp.start_thread()
        self._tcp.start_thread()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._udp.stop()
        self._tcp.stop()

    def __enter__(self) -> TestDNSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # zone data

    def add(self, name: str, rtype: str, data: Any, ttl: int = 300) -> None:
        """Add one record."""
        with self._lock:
            self.records[_key(name)].append((rtype.upper(), data, ttl))

    def add_zone(self, zone: ZoneData, ttl: int = 300) -> None:
        """Add every record of ``{name: [(type, data), ...]}``."""
        for name, records in zone.items():
            for rtype, data in records:
                self.add(name, rtype, data, ttl)

    def load_zone_file(self, path: Path) -> None:
        """Add every record of an RFC 1035 zone file (dnslib's parser; $ORIGIN and $TTL work)."""
        for rr in RR.fromZone(path.read_text(encoding="utf-8")):
            rtype = QTYPE[rr.rtype]
            if rtype == "TXT":
                data: Any = [s.decode("utf-8", "replace") for s in rr.rdata.data]
            else:
                data = rr.rdata.toZone()
            self.add(str(rr.rname), rtype, data, rr.ttl)

    def clear(self) -> None:
        """Forget all records, timeouts, failures and the query log."""
        with self._lock:
            self.records.clear()
            self.timeouts.clear()
            self.type_timeouts.clear()
            self.servfail.clear()
            self.queries.clear()

    # answering

    def _answer(self, request: DNSRecord) -> DNSRecord:
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        name = _key(qname)
        with self._lock:
            self.queries.append((name, qtype))
            timed_out = name in self.timeouts or (name, qtype) in self.type_timeouts
            failed = name in self.servfail
        if self.delay:
            time.sleep(self.delay)
        if timed_out:
            raise DNSError("timeout by design")
        reply = request.reply()
        if failed:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        self._fill(reply, name, qtype, depth=0)
        return reply

    def _fill(self, reply: DNSRecord, name: str, qtype: str, depth: int) -> None:
        with self._lock:
            records = list(self.records.get(name, ()))
            exists = bool(records) or any(k.endswith("." + name) for k in self.records)
        if not records:
            wildcard = self._wildcard(name)
            if wildcard is not None:
                records, exists = wildcard, True
        if not exists:
            if depth == 0:
                reply.header.rcode = RCODE.NXDOMAIN
            self._soa(reply, name)
            return
        cnames = [r for r in records if r[0] == "CNAME"]
        if cnames and qtype != "CNAME":
            rtype, data, ttl = cnames[0]
            reply.add_answer(_rr(name, rtype, data, ttl))
            if depth < 8:
                self._fill(reply, _key(str(data)), qtype, depth + 1)
            return
        matched = [r for r in records if r[0] == qtype or qtype == "ANY"]
        for rtype, data, ttl in matched:
            reply.add_answer(_rr(name, rtype, data, ttl))
        if not matched and depth == 0:
            self._soa(reply, name)

    def _wildcard(self, name: str) -> list[tuple[str, Any, int]] | None:
        labels = name.split(".")
        with self._lock:
            for i in range(1, len(labels)):
                candidate = "*." + ".".join(labels[i:])
                if candidate in self.records:
                    return list(self.records[candidate])
        return None

    @staticmethod
    def _soa(reply: DNSRecord, name: str) -> None:
        zone = ".".join(name.split(".")[-2:]) or "."
        reply.add_auth(
            RR(
                zone,
                QTYPE.SOA,
                ttl=60,
                rdata=SOA(f"ns.{zone}", f"hostmaster.{zone}", (1, 3600, 600, 86400, 60)),
            )
        )


def _rr(name: str, rtype: str, data: Any, ttl: int) -> RR:
    if rtype == "TXT":
        strings: Sequence[Any] = [data] if isinstance(data, str | bytes) else list(data)
        encoded = [s.encode("utf-8") if isinstance(s, str) else s for s in strings]
        chunks: list[bytes] = []
        for s in encoded:
            chunks.extend([s[i : i + 255] for i in range(0, len(s), 255)] or [b""])
        return RR(DNSLabel(name), QTYPE.TXT, ttl=ttl, rdata=TXT(chunks))
    zone_line = f"{name}. {ttl} IN {rtype} {data}"
    return RR.fromZone(zone_line)[0]


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for the test DNS server")
