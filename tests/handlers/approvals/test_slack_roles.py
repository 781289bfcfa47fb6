"""SlackRoleResolver against the recording Slack server: settings users, user groups (cached),
guests and other workspaces from users.info, and failures that grant nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import Role
from handlers.approvals.slack_roles import LookupFailed, SlackRoleResolver
from tests.support.slack_api import SlackApiRecorder
from tests.support.slack_app import BOT_TOKEN, app_settings

TECH, MGR = Role.TECHNICAL_APPROVER, Role.VENDOR_MANAGER


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack() -> AsyncIterator[SlackApiRecorder]:
    async with SlackApiRecorder() as recorder:
        recorder.usergroups["STECH"] = ["UALICE", "UBRUNO"]
        recorder.usergroups["SMGR"] = ["UCARMEN"]
        yield recorder


def resolver(slack: SlackApiRecorder, clock: Clock, **overrides: object) -> SlackRoleResolver:
    values: dict[str, object] = {
        "technical_approver_users": ("UDAVID",),
        "technical_approver_groups": ("STECH",),
        "vendor_manager_users": ("UDAVID",),
        "vendor_manager_groups": ("SMGR",),
        "group_cache_seconds": 60,
    }
    values.update(overrides)
    settings = app_settings(slack, **values)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)
    return SlackRoleResolver(client, settings, clock=clock)


async def test_roles_from_users_and_groups(slack: SlackApiRecorder) -> None:
    roles = resolver(slack, Clock())
    assert await roles.roles_of("UDAVID") == {TECH, MGR}
    assert await roles.roles_of("UALICE") == {TECH}
    assert await roles.roles_of("UCARMEN") == {MGR}
    assert await roles.roles_of("UNOBODY") == frozenset()
    assert await roles.members(TECH) == {"UDAVID", "UALICE", "UBRUNO"}
    assert await roles.members(MGR) == {"UDAVID", "UCARMEN"}


async def test_group_membership_is_cached_for_group_cache_seconds(slack: SlackApiRecorder) -> None:
    clock = Clock()
    roles = resolver(slack, clock)
    assert await roles.roles_of("UALICE") == {TECH}
    assert await roles.roles_of("UBRUNO") == {TECH}
    assert len(slack.find("usergroups.users.list")) == 2  # STECH, then SMGR for UALICE
    slack.usergroups["STECH"] = ["UBRUNO"]  # UALICE leaves the group
    clock.now += 59
    assert await roles.roles_of("UALICE") == {TECH}
    clock.now += 2
    assert await roles.roles_of("UALICE") == frozenset()
    calls = [c.data["usergroup"] for c in slack.find("usergroups.users.list")]
    assert calls.count("STECH") == 2


async def test_an_unreadable_group_grants_nothing(slack: SlackApiRecorder) -> None:
    roles = resolver(slack, Clock(), technical_approver_groups=("SMISSING",))
    assert await roles.roles_of("UDAVID") == {TECH, MGR}  # listed users need no group read
    with pytest.raises(LookupFailed):
        await roles.roles_of("UALICE")
    slack.fail("usergroups.users.list", 500, times=5)
    broken = resolver(slack, Clock())
    with pytest.raises(LookupFailed):
        await broken.members(TECH)


async def test_actor_from_users_info(slack: SlackApiRecorder) -> None:
    slack.users["UALICE"] = {"id": "UALICE", "team_id": "T0001"}
    slack.users["UGUEST"] = {"id": "UGUEST", "team_id": "T0001", "is_restricted": True}
    slack.users["USINGLE"] = {"id": "USINGLE", "team_id": "T0001", "is_ultra_restricted": True}
    slack.users["UBOT2"] = {"id": "UBOT2", "team_id": "T0001", "is_bot": True}
    slack.users["UGONE"] = {"id": "UGONE", "team_id": "T0001", "deleted": True}
    slack.users["UEXT"] = {"id": "UEXT", "team_id": "T0999"}
    slack.users["UNOTEAM"] = {"id": "UNOTEAM"}
    roles = resolver(slack, Clock())
    alice = await roles.actor("UALICE")
    assert (alice.user_id, alice.team_id, alice.is_guest, alice.roles) == (
        "UALICE",
        "T0001",
        False,
        frozenset(),
    )
    for guest in ("UGUEST", "USINGLE", "UBOT2", "UGONE"):
        assert (await roles.actor(guest)).is_guest, guest
    assert (await roles.actor("UEXT")).team_id == "T0999"
    assert (await roles.actor("UNOTEAM")).team_id == "unknown"
    assert await roles.home_team() == "T0001"
    with pytest.raises(LookupFailed):
        await roles.actor("UMISSING")
    calls = len(slack.find("users.info"))
    await roles.actor("UALICE")
    assert len(slack.find("users.info")) == calls  # cached


async def test_users_info_answering_about_someone_else_is_refused(slack: SlackApiRecorder) -> None:
    slack.users["UALICE"] = {"id": "UMALLORY", "team_id": "T0001"}
    with pytest.raises(LookupFailed):
        await resolver(slack, Clock()).actor("UALICE")
