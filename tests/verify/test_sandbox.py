"""VerifyPool: emails verified in worker processes, stopped at the deadline, workers reused.

Real parts only: worker processes from the fork server, the test DNS server on 127.0.0.1 (the
worker builds its resolver from the parent's configuration), the fixture registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dns import Resolver
from bot.errors import InputError, TooLargeError
from bot.mail.arrival import Arrival
from bot.mail.message import HeadersOnly
from bot.registry import Registry, RegistryHolder, parse_registry
from bot.report import Report, Verdict
from bot.runtime.queue import Job
from bot.runtime.worker import InboundWorker
from bot.settings import Settings
from bot.verify.sandbox import VerifyPool, attach_verify_pool
from bot.verify.verifier import Verifier
from tests.support.dnsserver import TestDNSServer

FIXTURES = Path(__file__).parents[1] / "fixtures"
EXAMPLES = Path(__file__).parents[2] / "examples"
SPOOFED = (EXAMPLES / "spoofed-northwind.eml").read_bytes()


def _verifier(resolver: Resolver, registry: Registry, **overrides: object) -> Verifier:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, registry=FIXTURES / "vendors.yml", **overrides
    )
    return Verifier(settings, resolver, RegistryHolder(registry))


@pytest.fixture
def pooled(resolver: Resolver, registry: Registry) -> Iterator[tuple[Verifier, VerifyPool]]:
    verifier = _verifier(resolver, registry, verify_timeout_seconds=20.0, verify_processes=1)
    pool = attach_verify_pool(verifier)
    try:
        yield verifier, pool
    finally:
        pool.close()


def _run(coro: object) -> Report:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_the_worker_gives_the_same_report_as_in_process(
    pooled: tuple[Verifier, VerifyPool], resolver: Resolver, registry: Registry
) -> None:
    verifier, pool = pooled
    inline = _run(_verifier(resolver, registry).verify_message(SPOOFED, filename="s.eml"))
    remote = _run(verifier.verify_message(SPOOFED, filename="s.eml"))
    assert pool.started == 1
    assert remote.verdict is inline.verdict
    assert remote.codes() == inline.codes()
    assert remote.target == "s.eml"


def test_settings_with_cached_secrets_reach_the_worker(
    resolver: Resolver, registry: Registry
) -> None:
    verifier = _verifier(resolver, registry, verify_processes=1)
    assert verifier.settings.secret_environ is not None  # cached: holds os.environ
    pool = attach_verify_pool(verifier)
    try:
        report = _run(verifier.verify_message(SPOOFED))
    finally:
        pool.close()
    assert "verification_timeout" not in report.codes() and report.vendor is not None


def test_dns_is_asked_from_the_worker(
    pooled: tuple[Verifier, VerifyPool], dns_server: TestDNSServer
) -> None:
    verifier, _ = pooled
    _run(verifier.verify_message(SPOOFED))
    assert ("_dmarc.northwind-software.com", "TXT") in dns_server.queries


def test_workers_are_reused(pooled: tuple[Verifier, VerifyPool]) -> None:
    verifier, pool = pooled

    async def several() -> list[Report]:
        return [await verifier.verify_message(SPOOFED) for _ in range(5)]

    reports = asyncio.run(several())
    assert {r.verdict for r in reports} == {reports[0].verdict}
    assert pool.started == 1 and pool.stopped == 0
    assert pool.from_loop == 4  # the first starts the worker from a thread; then no thread


def test_concurrent_jobs_never_start_more_workers_than_allowed(
    resolver: Resolver, registry: Registry
) -> None:
    verifier = _verifier(resolver, registry, verify_processes=2)
    pool = attach_verify_pool(verifier)

    async def many() -> list[Report]:
        return list(await asyncio.gather(*(verifier.verify_message(SPOOFED) for _ in range(12))))

    try:
        first = _run(many())
        second = _run(many())  # a second event loop, workers warm
        assert len({r.verdict for r in first + second}) == 1
        assert pool.started <= 2 and pool.stopped == 0
        assert pool.from_loop > 0
    finally:
        pool.close()


def test_the_deadline_holds_for_a_warm_worker(
    resolver: Resolver, registry: Registry, dns_server: TestDNSServer
) -> None:
    slow = Resolver([dns_server.address], timeout=30.0)
    verifier = _verifier(slow, registry, verify_timeout_seconds=0.5, verify_processes=1)
    pool = attach_verify_pool(verifier)
    try:
        lookalike = (EXAMPLES / "lookalike-northwind-support.eml").read_bytes()
        _run(verifier.verify_message(lookalike))  # the worker is up, with the registry
        dns_server.timeouts.add("_dmarc.northwind-software.com")
        report = _run(verifier.verify_message(SPOOFED, filename="slow.eml"))
        assert report.codes() == ["verification_timeout"]
        assert pool.from_loop == 1 and pool.stopped == 1
    finally:
        dns_server.timeouts.clear()
        pool.close()


def test_past_the_deadline_the_worker_is_killed_and_a_report_comes_back(
    resolver: Resolver, registry: Registry, dns_server: TestDNSServer
) -> None:
    slow = Resolver([dns_server.address], timeout=30.0)
    verifier = _verifier(slow, registry, verify_timeout_seconds=0.5, verify_processes=1)
    pool = attach_verify_pool(verifier)
    try:
        dns_server.timeouts.add("_dmarc.northwind-software.com")  # the worker waits on DNS
        report = _run(verifier.verify_message(SPOOFED, filename="slow.eml"))
        assert report.verdict is Verdict.UNVERIFIED
        assert report.codes() == ["verification_timeout"]
        assert report.target == "slow.eml"
        assert pool.stopped == 1
        dns_server.timeouts.clear()
        again = _run(verifier.verify_message(SPOOFED))  # a fresh worker replaces the killed one
        assert "verification_timeout" not in again.codes()
        assert pool.started == 2
    finally:
        pool.close()


def test_the_worker_sees_the_registry_in_force(pooled: tuple[Verifier, VerifyPool]) -> None:
    verifier, pool = pooled
    before = _run(verifier.verify_message(SPOOFED))
    assert before.vendor is not None
    verifier.registry_holder.replace(
        parse_registry({"vendors": [_other_vendor()]}, source="reloaded")
    )
    after = _run(verifier.verify_message(SPOOFED))
    assert after.vendor is None and "not_in_registry" in after.codes()
    assert pool.started == 1  # the same warm worker, given the new registry


def _other_vendor() -> dict[str, object]:
    return {
        "id": "fabrikam",
        "name": "Fabrikam Hardware",
        "domains": ["fabrikam.co.uk"],
        "contacts": [],
        "callback": {"phone": "+44 20 7946 0000", "instructions": "Ask for the service desk."},
        "privileged": False,
        "last_reviewed": "2026-08-01",
        "owner": "Facilities IT",
    }


def test_unusable_input_raises_as_in_process(pooled: tuple[Verifier, VerifyPool]) -> None:
    verifier, _ = pooled
    with pytest.raises(InputError, match="empty"):
        _run(verifier.verify_message(b"   "))
    with pytest.raises(TooLargeError):
        _run(verifier.verify_message(b"x" * (verifier.settings.max_message_bytes + 1)))


def test_headers_only_runs_in_the_worker(pooled: tuple[Verifier, VerifyPool]) -> None:
    verifier, pool = pooled
    report = _run(
        verifier.verify_headers(
            HeadersOnly(from_="Dana <dana.whitfield@northwind-software.com>", subject="hi")
        )
    )
    assert "no_authentication_data" in report.codes()
    assert pool.started == 1


async def test_the_gate_worker_posts_a_card_when_time_runs_out(
    registry: Registry, dns_server: TestDNSServer
) -> None:
    slow = Resolver([dns_server.address], timeout=30.0)
    verifier = _verifier(slow, registry, verify_timeout_seconds=0.5, verify_processes=1)
    pool = attach_verify_pool(verifier)
    dns_server.timeouts.add("_dmarc.northwind-software.com")
    posted: list[Report | None] = []

    class _Queue:
        async def begin_post(self, job_id: str, consumer: str) -> None:
            return None

        async def finish_post(self, job_id: str, ts: str) -> None:
            return None

        async def ack(self, job: Job) -> None:
            return None

        async def finish_and_ack(self, job: Job, ts: str) -> None:
            return None

    async def post(job: Job, report: Report | None, error: str | None) -> str:
        posted.append(report)
        return "1.0"

    async def verify(body: bytes) -> Report:
        return await verifier.verify_message(body, arrival=Arrival.RAW)

    worker = InboundWorker(_Queue(), verify, post, consumer="c")  # type: ignore[arg-type]
    try:
        await worker.process(Job(id="1-0", body=SPOOFED, received_at=0.0, attempts=1, handle="1-0"))
    finally:
        pool.close()
    assert len(posted) == 1 and posted[0] is not None
    assert posted[0].codes() == ["verification_timeout"]
