"""Who holds which approver role, and who a Slack user is (guest? this workspace?).

:class:`SlackRoleResolver` is the approval service's :class:`~bot.approvals.service.RoleResolver`
on Slack: a role is held by the user ids listed in settings and by the members of the listed user
groups (``usergroups.users.list``), each group cached for ``group_cache_seconds``. :meth:`actor`
reads ``users.info`` (cached the same way) to build the :class:`Actor`: restricted and
ultra-restricted accounts are guests, and the user's own ``team_id`` is compared by the store with
the request's (and by the handlers with :meth:`home_team` before a request is opened).
Failing to read Slack never grants anything: it raises :class:`LookupFailed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.machine import Actor, Role
from bot.errors import SlackApiError
from bot.settings import Settings
from handlers.reply import web_call

UNKNOWN_TEAM = "unknown"
_MAX_USERS = 10_000


class LookupFailed(SlackApiError):
    """Slack did not tell us who someone is or who is in a group: nothing is granted."""


class _Cache:
    """A small time-bounded cache of coroutine results, one look-up in flight per key."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, load: Callable[[], Any]) -> Any:
        hit = self._values.get(key)
        if hit is not None and self.clock() < hit[0]:
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._values.get(key)
            if hit is not None and self.clock() < hit[0]:
                return hit[1]
            value = await load()
            if len(self._values) >= _MAX_USERS:
                self._values.clear()
            self._values[key] = (self.clock() + self.seconds, value)
            return value


class SlackRoleResolver:
    """Roles from settings (user ids and user group ids), identities from ``users.info``."""

    def __init__(
        self,
        client: AsyncWebClient,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.users = {
            Role.TECHNICAL_APPROVER: frozenset(settings.technical_approver_users),
            Role.VENDOR_MANAGER: frozenset(settings.vendor_manager_users),
        }
        self.groups = {
            Role.TECHNICAL_APPROVER: tuple(settings.technical_approver_groups),
            Role.VENDOR_MANAGER: tuple(settings.vendor_manager_groups),
        }
        self._cache = _Cache(settings.group_cache_seconds, clock)

    async def members(self, role: Role) -> frozenset[str]:
        """Every user holding ``role``: the listed users and every listed group's members."""
        people = set(self.users[role])
        for group in self.groups[role]:
            people |= await self.group_members(group)
        return frozenset(people)

    async def roles_of(self, user_id: str) -> frozenset[Role]:
        """The roles ``user_id`` holds now (groups read at most every ``group_cache_seconds``)."""
        held = set()
        for role in Role:
            if user_id in self.users[role]:
                held.add(role)
                continue
            for group in self.groups[role]:
                if user_id in await self.group_members(group):
                    held.add(role)
                    break
        return frozenset(held)

    async def group_members(self, group_id: str) -> frozenset[str]:
        """The user ids in a Slack user group (``usergroups.users.list``, cached)."""

        async def load() -> frozenset[str]:
            data = await self._call("usergroups.users.list", usergroup=group_id)
            users = data.get("users")
            if not isinstance(users, list):
                raise LookupFailed(f"usergroups.users.list gave no members for {group_id}")
            return frozenset(str(u) for u in users)

        result: frozenset[str] = await self._cache.get(f"group:{group_id}", load)
        return result

    async def actor(self, user_id: str) -> Actor:
        """The :class:`Actor` for a Slack user: their own workspace and whether they are a guest.

        Roles are left empty: the approval service resolves them itself on every call.
        """

        async def load() -> Actor:
            data = await self._call("users.info", user=user_id)
            user = data.get("user")
            if not isinstance(user, dict) or user.get("id") != user_id:
                raise LookupFailed(f"users.info did not describe {user_id}")
            guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
            if user.get("is_bot") or user.get("deleted") or user.get("is_stranger"):
                guest = True  # bots, deactivated accounts and strangers sign nothing
            team = user.get("team_id")
            team_id = team if isinstance(team, str) and team else UNKNOWN_TEAM
            return Actor(user_id=user_id, team_id=team_id, is_guest=guest)

        result: Actor = await self._cache.get(f"user:{user_id}", load)
        return result

    async def home_team(self) -> str:
        """The id of the workspace deskguard is installed in (``auth.test``, cached)."""

        async def load() -> str:
            team = (await self._call("auth.test")).get("team_id")
            if not isinstance(team, str) or not team:
                raise LookupFailed("auth.test did not name the workspace")
            return team

        result: str = await self._cache.get("home_team", load)
        return result

    async def _call(self, route: str, **kwargs: Any) -> dict[str, Any]:
        method = {
            "auth.test": self.client.auth_test,
            "users.info": self.client.users_info,
            "usergroups.users.list": self.client.usergroups_users_list,
        }[route]
        try:
            data = await web_call(method, route, **kwargs)
        except SlackApiError as exc:
            raise LookupFailed(str(exc)) from exc
        if data.get("ok") is not True:
            raise LookupFailed(f"{route} failed: {data.get('error') or 'no answer'}")
        return data
