"""End to end through a real Postfix: the milter (``deskguard milter``) and the SMTP copy listener.

A private Postfix (tests/support/postfix.py) listens on a loopback port with its own config and
queue, calls the milter, copies ``servicedesk@`` mail to the SMTP listener (recipient_bcc_maps)
and relays everything to a capture server. Mail is submitted with smtplib. Skips when Postfix is
not installed (fails instead in CI, where .ci/run installs it).
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.dns import Resolver
from bot.mail.arrival import Arrival
from bot.registry import Registry, RegistryHolder
from bot.report import Report
from bot.runtime.metrics import Metrics
from bot.runtime.milter import milter_available
from bot.runtime.queue_sqlite import SqliteWorkQueue
from bot.runtime.smtp import start_smtp
from bot.runtime.worker import InboundWorker
from bot.settings import Settings
from bot.verify.verifier import Verifier
from handlers.triage import make_triage_poster
from tests.support.dnsserver import TestDNSServer
from tests.support.mailsign import SigningKey, build, rsa_key, sign
from tests.support.postfix import Capture, Delivered, PrivatePostfix, can_run_postfix
from tests.support.redis_server import free_port, skip_or_fail
from tests.support.slack_api import SlackApiRecorder

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUR_ID = "mx.example-corp.test"
NW = "northwind-software.com"
DANA = "Dana Whitfield <dana.whitfield@northwind-software.com>"
HELPDESK = "helpdesk@example-corp.test"
SERVICEDESK = "servicedesk@example-corp.test"  # copied to the SMTP listener by Postfix
OTHER = "someone@example-corp.test"


@pytest.fixture(scope="module")
def mail_ports() -> dict[str, int]:
    return {"milter": free_port(), "listener": free_port()}


@pytest.fixture(scope="module")
def capture() -> Iterator[Capture]:
    reason = can_run_postfix()
    if reason:
        skip_or_fail(reason)
    cap = Capture()
    cap.start()
    yield cap
    cap.stop()


@pytest.fixture(scope="module")
def postfix(
    capture: Capture, mail_ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePostfix]:
    instance = PrivatePostfix(
        None,
        relay_port=capture.port,
        milter=f"inet:127.0.0.1:{mail_ports['milter']}",
        bcc={SERVICEDESK: "copy@deskguard.test"},
        transports={"deskguard.test": f"smtp:[127.0.0.1]:{mail_ports['listener']}"},
    )
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def key(dns_server: TestDNSServer) -> SigningKey:
    k = rsa_key(2048)
    dns_server.add(f"s1._domainkey.{NW}", "TXT", k.txt())
    return k


def _env(dns_server: TestDNSServer, mail_ports: dict[str, int], tmp_path: Path) -> dict[str, str]:
    """The environment of a deskguard process under test (no inherited DESKGUARD_/SLACK_)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKGUARD_", "SLACK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DESKGUARD_MILTER_SOCKET": f"inet:{mail_ports['milter']}@127.0.0.1",
            "DESKGUARD_REGISTRY": str(FIXTURES / "vendors.yml"),
            "DESKGUARD_DNS_NAMESERVERS": f"127.0.0.1:{dns_server.port}",
            "DESKGUARD_TRUSTED_AUTHSERV_IDS": OUR_ID,
            "DESKGUARD_DATABASE": str(tmp_path / "deskguard.sqlite3"),
            "DESKGUARD_LOG_FORMAT": "text",
        }
    )
    return env


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@pytest.fixture
def start_milter(
    dns_server: TestDNSServer, mail_ports: dict[str, int], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``python -m bot milter`` with extra DESKGUARD_* settings; stopped after the test."""
    if not milter_available():
        skip_or_fail(
            "pymilter is not installed (apt-get install libmilter-dev; pip install '.[milter]')"
        )
    procs: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> subprocess.Popen[bytes]:
        env = _env(dns_server, mail_ports, tmp_path)
        env.update({f"DESKGUARD_{k.upper()}": v for k, v in settings.items()})
        log = tmp_path / "milter.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "milter"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        procs.append(proc)
        _wait_listening(proc, mail_ports["milter"], log)
        return proc

    yield start
    for proc in procs:
        _stop(proc)


def _submit(postfix: PrivatePostfix, raw: bytes, rcpts: list[str], mail_from: str) -> None:
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=60) as client:
        client.sendmail(mail_from, rcpts, raw)


def _one(capture: Capture, marker: str) -> Delivered:
    capture.wait_for(lambda ms: any(marker in str(m.message.get("Subject", "")) for m in ms))
    (delivered,) = capture.with_subject_part(marker)
    return delivered


def _marker() -> str:
    return uuid.uuid4().hex[:10]


async def test_milter_writes_its_headers_and_tags_spoofed_mail(
    postfix: PrivatePostfix,
    capture: Capture,
    start_milter: Callable[..., Any],
    key: SigningKey,
) -> None:
    start_milter()
    genuine_marker, spoof_marker = _marker(), _marker()
    genuine = sign(
        build(from_=DANA, subject=f"Maintenance {genuine_marker}"),
        domain=NW,
        selector="s1",
        key=key,
    )
    spoofed = build(
        from_=DANA,
        subject=f"Reset MFA {spoof_marker}",
        extra=(
            f"Authentication-Results: {OUR_ID}; dkim=pass header.d={NW}; dmarc=pass",
            "X-Deskguard-Verdict: verified; vendor=northwind; reasons=dmarc_pass",
        ),
    )
    await asyncio.to_thread(_submit, postfix, genuine, [OTHER], f"dana.whitfield@{NW}")
    await asyncio.to_thread(_submit, postfix, spoofed, [OTHER], f"dana.whitfield@{NW}")

    good = (await asyncio.to_thread(_one, capture, genuine_marker)).message
    assert good.get_all("X-Deskguard-Verdict") is not None
    (verdict,) = good.get_all("X-Deskguard-Verdict")
    assert verdict.startswith("verified; vendor=northwind; reasons="), verdict
    (results,) = [v for v in good.get_all("Authentication-Results") if v.startswith(OUR_ID)]
    assert f"dkim=pass header.d={NW} header.s=s1" in results
    assert f"dmarc=pass header.from={NW}" in results
    assert good["Subject"] == f"Maintenance {genuine_marker}"  # verified mail is not tagged

    bad = (await asyncio.to_thread(_one, capture, spoof_marker)).message
    assert bad["Subject"] == f"[deskguard: spoofed] Reset MFA {spoof_marker}"
    (verdict,) = bad.get_all("X-Deskguard-Verdict")  # the forged one is gone
    assert verdict.startswith("spoofed; vendor=northwind; reasons=")
    ours = [v for v in bad.get_all("Authentication-Results") if v.startswith(OUR_ID)]
    assert len(ours) == 1 and "dmarc=fail" in ours[0] and "spf=fail" in ours[0]


async def test_milter_rejects_when_configured(
    postfix: PrivatePostfix, capture: Capture, start_milter: Callable[..., Any]
) -> None:
    start_milter(milter_action_spoofed="reject")
    marker = _marker()
    spoofed = build(from_=DANA, subject=f"Reset MFA {marker}")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await asyncio.to_thread(_submit, postfix, spoofed, [OTHER], f"dana.whitfield@{NW}")
    assert refused.value.smtp_code == 550
    assert b"spoofed" in refused.value.smtp_error
    assert capture.with_subject_part(marker) == []


async def test_milter_quarantine_is_a_postfix_hold(
    postfix: PrivatePostfix, capture: Capture, start_milter: Callable[..., Any]
) -> None:
    start_milter(milter_action_spoofed="quarantine")
    before = postfix.held()
    marker = _marker()
    spoofed = build(from_=DANA, subject=f"Reset MFA {marker}")
    await asyncio.to_thread(_submit, postfix, spoofed, [OTHER], f"dana.whitfield@{NW}")
    deadline = time.monotonic() + 30
    while postfix.held() <= before and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    assert postfix.held() == before + 1, postfix.log()
    assert capture.with_subject_part(marker) == []


async def test_milter_timeout_marks_unverified_and_mail_flows(
    postfix: PrivatePostfix,
    capture: Capture,
    start_milter: Callable[..., Any],
    dns_server: TestDNSServer,
) -> None:
    start_milter(milter_timeout_seconds="1", dns_timeout="20")
    dns_server.delay = 3.0  # DNS slower than the milter's deadline
    marker = _marker()
    try:
        await asyncio.to_thread(
            _submit, postfix, build(from_=DANA, subject=f"Slow {marker}"), [OTHER], f"x@{NW}"
        )
        delivered = (await asyncio.to_thread(_one, capture, marker)).message
    finally:
        dns_server.delay = 0.0
    assert delivered["X-Deskguard-Verdict"] == "unverified; reasons=verification_timeout"
    assert delivered["Subject"] == f"Slow {marker}"


async def _post_cards(
    queue: SqliteWorkQueue, slack: SlackApiRecorder, registry: Registry, resolver: Resolver
) -> None:
    """Run an inbound worker (as ``serve`` does) until the queue is empty."""
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.base_url)
    poster = make_triage_poster(client, "C0TRIAGE", lambda: registry, Metrics())
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        registry=FIXTURES / "vendors.yml",
        trusted_authserv_ids=(OUR_ID,),
    )
    verifier = Verifier(settings, resolver, RegistryHolder(registry))

    async def verify(body: bytes) -> Report:
        return await verifier.verify_message(body, arrival=Arrival.RAW)

    worker = InboundWorker(queue, verify, poster, consumer="test", block_ms=100)
    while await queue.depth():
        for job in await queue.claim("test", block_ms=100):
            await worker.process(job)


async def test_help_desk_mail_gets_one_card_each(
    postfix: PrivatePostfix,
    capture: Capture,
    start_milter: Callable[..., Any],
    registry: Registry,
    resolver: Resolver,
    tmp_path: Path,
) -> None:
    start_milter(milter_helpdesk_recipients=HELPDESK)
    markers = [_marker() for _ in range(3)]
    for marker, rcpt in zip(markers, [HELPDESK, HELPDESK, OTHER], strict=True):
        raw = build(from_=DANA, to=rcpt, subject=f"Patch {marker}")
        await asyncio.to_thread(_submit, postfix, raw, [rcpt], f"dana.whitfield@{NW}")
    for marker in markers:
        await asyncio.to_thread(_one, capture, marker)
    queue = SqliteWorkQueue(tmp_path / "deskguard.sqlite3", poll_interval=0.01)
    assert await queue.depth() == 2  # the two help-desk messages, not the third
    async with SlackApiRecorder() as slack:
        await _post_cards(queue, slack, registry, resolver)
        posts = slack.find("chat.postMessage")
    await queue.close()
    assert len(posts) == 2
    assert all("spoofed" in call.text().lower() for call in posts)


async def test_smtp_listener_gets_postfix_copies_and_one_card_each(
    postfix: PrivatePostfix,
    capture: Capture,
    mail_ports: dict[str, int],
    registry: Registry,
    resolver: Resolver,
    tmp_path: Path,
) -> None:
    queue = SqliteWorkQueue(tmp_path / "listener.sqlite3", poll_interval=0.01)
    settings = Settings(_env_file=None, smtp_host="127.0.0.1")  # type: ignore[call-arg]
    server, handler, _ = await start_smtp(settings, queue, port=mail_ports["listener"])
    markers = [_marker() for _ in range(2)]
    try:
        for marker in markers:
            raw = build(from_=DANA, to=SERVICEDESK, subject=f"Invoice {marker}")
            await asyncio.to_thread(_submit, postfix, raw, [SERVICEDESK], f"dana.whitfield@{NW}")
        for marker in markers:  # the original still reaches the desk
            await asyncio.to_thread(_one, capture, marker)
        deadline = time.monotonic() + 60
        # the listener's answers, not the queue's rows: a batch makes both rows visible before
        # the handlers resume to count them and answer 250, and closing then cuts them off
        while handler.accepted < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        server.close()
        await server.wait_closed()
    assert handler.accepted == 2, postfix.log()
    (job, *_) = await queue.claim("peek", block_ms=100)
    assert job.body.startswith(b"Received: from ")  # raw, as Postfix delivered it
    await queue.release(job)
    async with SlackApiRecorder() as slack:
        await _post_cards(queue, slack, registry, resolver)
        posts = slack.find("chat.postMessage")
    await queue.close()
    assert len(posts) == 2


async def test_serve_runs_milter_and_listener_and_posts_one_card_per_message(
    postfix: PrivatePostfix,
    capture: Capture,
    mail_ports: dict[str, int],
    dns_server: TestDNSServer,
    tmp_path: Path,
) -> None:
    if not milter_available():
        skip_or_fail(
            "pymilter is not installed (apt-get install libmilter-dev; pip install '.[milter]')"
        )
    async with SlackApiRecorder() as slack:
        env = _env(dns_server, mail_ports, tmp_path)
        env.update(
            {
                "SLACK_BOT_TOKEN": "xoxb-1111-2222-testtoken",
                "SLACK_SIGNING_SECRET": "test-signing-secret",
                "DESKGUARD_SLACK_API_URL": slack.base_url,
                "DESKGUARD_HOST": "127.0.0.1",
                "DESKGUARD_PORT": str(free_port()),
                "DESKGUARD_SMTP_HOST": "127.0.0.1",
                "DESKGUARD_SMTP_PORT": str(mail_ports["listener"]),
                "DESKGUARD_MILTER_HELPDESK_RECIPIENTS": HELPDESK,
                "DESKGUARD_TRIAGE_CHANNEL": "C0TRIAGE",
            }
        )
        log = tmp_path / "serve.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on in a thread
                [sys.executable, "-m", "bot", "serve"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            await asyncio.to_thread(_wait_listening, proc, mail_ports["milter"], log)
            await asyncio.to_thread(_wait_listening, proc, mail_ports["listener"], log)
            desk, copy = _marker(), _marker()
            raw = build(from_=DANA, to=HELPDESK, subject=f"Patch {desk}")
            await asyncio.to_thread(_submit, postfix, raw, [HELPDESK], f"dana.whitfield@{NW}")
            raw = build(from_=DANA, to=SERVICEDESK, subject=f"Invoice {copy}")
            await asyncio.to_thread(_submit, postfix, raw, [SERVICEDESK], f"dana.whitfield@{NW}")
            delivered = (await asyncio.to_thread(_one, capture, desk)).message
            assert str(delivered["X-Deskguard-Verdict"]).startswith("spoofed; vendor=northwind")
            await asyncio.to_thread(_one, capture, copy)
            posts = await slack.wait_for("chat.postMessage", count=2, within=60)
        finally:
            code = await asyncio.to_thread(_stop, proc)
        assert code == 0, log.read_text()[-2000:]
        assert len(slack.find("chat.postMessage")) == 2  # one card each, nothing more
        texts = [call.text() for call in posts]
        assert any(desk in text for text in texts) and any(copy in text for text in texts)
