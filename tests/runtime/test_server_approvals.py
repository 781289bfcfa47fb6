"""The composition root's part of the countersign flow: the approval service attached with the
Slack role resolver, the start-up staffing warning (log and stderr), the expiry sweeper running
inside ``run``, and the store closed on shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from pathlib import Path

import pytest

from bot.approvals.machine import Actor, NewRequest, RequestKind, Slot, State
from bot.approvals.store_sqlite import SQLiteStore
from bot.dns import Resolver
from bot.registry import Registry
from bot.runtime.server import attach_approvals, run, warn_staffing
from bot.runtime.services import build_services
from handlers.approvals.slack_roles import SlackRoleResolver
from tests.support.dnsserver import TestDNSServer
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import app_settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_too_few_approvers_is_said_at_start_up(
    resolver: Resolver,
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with SlackApiRecorder() as slack:
        settings = app_settings(slack, technical_approver_users=("UALICE",))
        services = build_services(settings, resolver=resolver, registry=registry)
        store = await SQLiteStore.open(tmp_path / "a.sqlite3")
        try:
            service = attach_approvals(services, store)
            assert services.approvals is service
            assert isinstance(service.roles, SlackRoleResolver)
            warnings = await warn_staffing(service)
        finally:
            await store.close()
    assert "no vendor relationship manager is configured" in warnings
    assert any("fewer than two eligible people" in w for w in warnings)
    err = capsys.readouterr().err
    assert "warning: deskguard approvals: fewer than two eligible people" in err
    assert "fewer than two eligible people" in caplog.text


async def test_two_people_through_a_user_group_need_no_warning(
    resolver: Resolver, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SlackApiRecorder() as slack:
        slack.usergroups["SMGR"] = ["UCARMEN"]
        settings = app_settings(
            slack, technical_approver_users=("UALICE",), vendor_manager_groups=("SMGR",)
        )
        services = build_services(settings, resolver=resolver, registry=registry)
        store = await SQLiteStore.open(tmp_path / "a.sqlite3")
        try:
            assert await warn_staffing(attach_approvals(services, store)) == []
            slack.usergroups.clear()
            settings = app_settings(
                slack, technical_approver_users=("UALICE",), vendor_manager_groups=("SGONE",)
            )
            services = build_services(settings, resolver=resolver, registry=registry)
            (warning,) = await warn_staffing(attach_approvals(services, store))
        finally:
            await store.close()
    assert "could not read the approver user groups" in warning
    assert "could not read the approver user groups" in capsys.readouterr().err


async def test_run_sweeps_expired_requests_and_updates_their_cards(
    dns_server: TestDNSServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "state.sqlite3"
    store = await SQLiteStore.open(database)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    request = await store.create_request(
        NewRequest(
            vendor_id="northwind",
            vendor_name="Northwind Software",
            kind=RequestKind.SYSTEM_ACCESS,
            summary="VPN account for the vendor engineer",
            requester=Actor("UREQ", "T0001"),
            expires_at=past + dt.timedelta(hours=24),
            challenges={s.value: "ab" * 16 for s in Slot},
            channel="CAPPROVALS",
        ),
        past,
    )
    await store.set_card(request.id, "CAPPROVALS", "1700000000.000001")
    await store.close()
    async with SlackApiRecorder() as slack:
        settings = app_settings(
            slack,
            port=_free_port(),
            database=database,
            approvals_channel="CAPPROVALS",
            registry=ROOT / "tests" / "fixtures" / "vendors.yml",
            dns_nameservers=f"{dns_server.address[0]}:{dns_server.address[1]}",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop))
        try:
            (update,) = await slack.wait_for("chat.update")
            (dm,) = await slack.wait_for("chat.postMessage")
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 10) == 0
    assert update.data["channel"] == "CAPPROVALS" and update.data["ts"] == "1700000000.000001"
    assert "*Expired*" in update.text() and "approval_approve" not in update.text()
    assert dm.data["channel"] == "UREQ" and "*expired*" in dm.text()
    assert "fewer than two eligible people" in capsys.readouterr().err
    reopened = await SQLiteStore.open(database)
    try:
        stored = await reopened.get(request.id)
        assert stored is not None and stored.state is State.EXPIRED
    finally:
        await reopened.close()
