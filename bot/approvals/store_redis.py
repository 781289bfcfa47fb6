"""The Redis approval store (``REDIS_URL``; for several replicas of the bot).

Every transition is ONE Lua script: it checks the state, expiry, workspace, guest flag, role,
requester and two-person rules (mirroring :func:`bot.approvals.machine.transition` in the same
order, with the same reason codes), writes the slot, bumps the version, and appends the audit event,
atomically. Keys, under a prefix (``deskguard:`` by default)::

    req:<id>         hash, the snapshot (every value a string; times in epoch microseconds)
    open             sorted set of open request ids, scored by expiry
    audit            sorted set of audit records (JSON), scored by event time
    audit:seq        counter giving each audit record its sequence number
    audit:req:<id>   list of that request's audit records
    once:<kind>:<key>  single-use markers (SET NX PX)
    card:<id>        hash: channel and ts of the request's Slack card

Durability is Redis's: run it with ``appendonly yes`` and ``appendfsync always`` so that an
acknowledged approval survives a crash (a reply is sent only after the AOF write is synced).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.approvals.audit import AuditEvent
from bot.approvals.machine import (
    MAX_NOTE,
    REFUSALS,
    Actor,
    Approval,
    Event,
    NewRequest,
    Request,
    RequestKind,
    State,
    clean_text,
    from_us,
    system_actor,
    to_us,
)
from bot.approvals.store import new_request_id
from bot.errors import StoreError, TransitionRefused
from bot.redis_options import connection_options

_AUDIT = r"""
local function append_audit(keys, h, event, actor_id, from_state, now_us, note, evidence)
  local seq = redis.call('INCR', keys[4])
  local rec = cjson.encode({seq = seq, at_us = now_us, request_id = h.id, event = event,
    actor_id = actor_id, from_state = from_state, to_state = h.state, note = note,
    evidence = evidence, request = h})
  redis.call('ZADD', keys[3], tonumber(now_us), rec)
  redis.call('RPUSH', keys[5], rec)
  return rec
end
"""

CREATE_LUA = (
    _AUDIT
    + r"""
-- KEYS: req hash, open zset, audit zset, audit seq, request audit list
-- ARGV: now_us, actor_id, field1, value1, field2, value2, ...
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 'exists', ''} end
local h = {}
for i = 3, #ARGV, 2 do
  h[ARGV[i]] = ARGV[i + 1]
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[2], tonumber(h.expires_at_us), h.id)
return {1, append_audit(KEYS, h, 'open', ARGV[2], '', ARGV[1], '', '{}')}
"""
)

TRANSITION_LUA = (
    _AUDIT
    + r"""
-- KEYS: req hash, open zset, audit zset, audit seq, request audit list
-- ARGV: event, actor_id, actor_team, is_guest (1/0), roles (,a,b,), now_us, note, evidence json,
--       approval json
local event, actor_id, team, guest, roles = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now_us, note, evidence, approval = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 'not_found', ''} end
local flat = redis.call('HGETALL', KEYS[1])
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
local before = h.state
local function has(role) return string.find(roles, ',' .. role .. ',', 1, true) ~= nil end
local function close(state)
  h.state = state; h.closed_by = actor_id; h.closed_at_us = now_us; h.close_reason = note
end
if before ~= 'pending' and before ~= 'partially_approved' then
  return {0, 'already_decided', 'The request is already ' .. before .. '.'}
end
local now, expires = tonumber(now_us), tonumber(h.expires_at_us)
if event == 'expire' then
  if now < expires then return {0, 'not_due', ''} end
  close('expired')
elseif now >= expires then
  return {0, 'expired', ''}
elseif event == 'cancel' then
  if actor_id ~= h.requester_id then return {0, 'not_requester', ''} end
  close('cancelled')
elseif guest == '1' then
  return {0, 'guest_not_allowed', ''}
elseif team ~= h.team_id then
  return {0, 'wrong_workspace', ''}
elseif event == 'deny' then
  if not has('technical_approver') and not has('vendor_manager') then
    return {0, 'not_in_role', 'Only a technical approver or a vendor manager can deny.'}
  end
  if note == '' then return {0, 'reason_required', 'Denying needs a reason.'} end
  close('denied')
else
  local slot, other, role, label
  if event == 'approve_technical' then
    slot, other, role = 'technical', 'vendor_manager', 'technical_approver'
    label = 'technical approver'
  elseif event == 'approve_vendor_manager' then
    slot, other, role, label = 'vendor_manager', 'technical', 'vendor_manager', 'vendor manager'
  else
    return {0, 'bad_input', 'Unknown event.'}
  end
  if h[slot .. '_user'] ~= '' then
    return {0, 'already_decided', 'The ' .. slot .. ' slot is already signed.'}
  end
  if not has(role) then return {0, 'not_in_role', 'Only a ' .. label .. ' can sign this.'} end
  if actor_id == h.requester_id then return {0, 'requester_cannot_approve', ''} end
  if h[other .. '_user'] == actor_id then return {0, 'same_person_both_slots', ''} end
  h[slot] = approval
  h[slot .. '_user'] = actor_id
  if h[other .. '_user'] ~= '' then
    h.state = 'cleared'; h.closed_by = actor_id; h.closed_at_us = now_us
  else
    h.state = 'partially_approved'
  end
end
h.version = tostring(tonumber(h.version) + 1)
local out = {}
for k, v in pairs(h) do out[#out + 1] = k; out[#out + 1] = v end
redis.call('HSET', KEYS[1], unpack(out))
if h.state ~= 'pending' and h.state ~= 'partially_approved' then
  redis.call('ZREM', KEYS[2], h.id)
end
return {1, append_audit(KEYS, h, event, actor_id, before, now_us, note, evidence)}
"""
)


def _to_hash(request: Request) -> dict[str, str]:
    def us(when: dt.datetime | None) -> str:
        return str(to_us(when)) if when else ""

    def slot(approval: Approval | None) -> str:
        return json.dumps(approval.to_dict()) if approval else ""

    return {
        "id": request.id,
        "vendor_id": request.vendor_id,
        "vendor_name": request.vendor_name,
        "kind": request.kind.value,
        "summary": request.summary,
        "requester_id": request.requester_id,
        "team_id": request.team_id,
        "channel": request.channel or "",
        "created_at_us": us(request.created_at),
        "expires_at_us": us(request.expires_at),
        "state": request.state.value,
        "technical": slot(request.technical),
        "technical_user": request.technical.user_id if request.technical else "",
        "vendor_manager": slot(request.vendor_manager),
        "vendor_manager_user": request.vendor_manager.user_id if request.vendor_manager else "",
        "closed_by": request.closed_by or "",
        "closed_at_us": us(request.closed_at),
        "close_reason": request.close_reason or "",
        "verification": json.dumps(dict(request.verification)),
        "challenges": json.dumps(dict(request.challenges)),
        "version": str(request.version),
    }


def _from_hash(h: Mapping[str, str]) -> Request:
    def slot(value: str) -> Approval | None:
        return Approval.from_dict(json.loads(value)) if value else None

    return Request(
        id=h["id"],
        vendor_id=h["vendor_id"],
        vendor_name=h["vendor_name"],
        kind=RequestKind(h["kind"]),
        summary=h["summary"],
        requester_id=h["requester_id"],
        team_id=h["team_id"],
        channel=h["channel"] or None,
        created_at=from_us(int(h["created_at_us"])),
        expires_at=from_us(int(h["expires_at_us"])),
        state=State(h["state"]),
        technical=slot(h["technical"]),
        vendor_manager=slot(h["vendor_manager"]),
        closed_by=h["closed_by"] or None,
        closed_at=from_us(int(h["closed_at_us"])) if h["closed_at_us"] else None,
        close_reason=h["close_reason"] or None,
        verification=json.loads(h["verification"]),
        challenges=json.loads(h["challenges"]),
        version=int(h["version"]),
    )


def _audit_from_json(text: str) -> AuditEvent:
    rec: dict[str, Any] = json.loads(text)
    return AuditEvent(
        seq=int(rec["seq"]),
        at=from_us(int(rec["at_us"])),
        request_id=str(rec["request_id"]),
        event=str(rec["event"]),
        actor_id=str(rec["actor_id"]),
        from_state=rec["from_state"] or None,
        to_state=str(rec["to_state"]),
        request=_from_hash(rec["request"]),
        note=rec["note"] or None,
        evidence=json.loads(rec["evidence"]),
    )


class RedisStore:
    """ApprovalStore on Redis; every transition is one atomic Lua script."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "deskguard:") -> None:
        self.client = client
        self.prefix = prefix
        self._create = client.register_script(CREATE_LUA)
        self._transition = client.register_script(TRANSITION_LUA)

    @classmethod
    async def connect(
        cls, url: str, *, prefix: str = "deskguard:", max_connections: int = 64
    ) -> RedisStore:
        """Connect to ``url`` and check that Redis answers; StoreError when it does not.

        The pool blocks (up to 10 s) for a free connection instead of failing, so a burst of
        clicks queues rather than erroring with "Too many connections".
        """
        try:
            pool = aioredis.BlockingConnectionPool.from_url(
                url,
                decode_responses=True,
                max_connections=max_connections,
                timeout=10,
                socket_connect_timeout=5,  # an unanswering Redis raises instead of hanging
                socket_timeout=10,
                **connection_options(),
            )
            client = aioredis.Redis(connection_pool=pool)
        except ValueError as exc:
            raise StoreError(f"REDIS_URL is not usable: {exc}") from None
        store = cls(client, prefix=prefix)
        try:
            await client.ping()
        except RedisError as exc:
            await client.aclose()
            raise StoreError(f"Redis is unreachable: {exc}") from None
        return store

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
        await self.client.connection_pool.disconnect()

    def _keys(self, request_id: str) -> list[str]:
        p = self.prefix
        return [
            f"{p}req:{request_id}",
            f"{p}open",
            f"{p}audit",
            f"{p}audit:seq",
            f"{p}audit:req:{request_id}",
        ]

    async def _script(self, script: Any, keys: Sequence[str], args: Sequence[str]) -> Any:
        try:
            return await script(keys=list(keys), args=list(args))
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None

    async def create_request(self, new: NewRequest, now: dt.datetime) -> Request:
        """Store a new pending request and its ``open`` audit event."""
        while True:
            request = new.build(new_request_id(), now)
            fields = [x for pair in _to_hash(request).items() for x in pair]
            args = [str(to_us(now)), new.requester.user_id, *fields]
            ok, payload, *_ = await self._script(self._create, self._keys(request.id), args)
            if ok == 1:
                return _audit_from_json(payload).request

    async def get(self, request_id: str) -> Request | None:
        """The current snapshot, or None."""
        try:
            h = cast(dict[str, str], await self.client.hgetall(f"{self.prefix}req:{request_id}"))
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        return _from_hash(h) if h else None

    async def apply(
        self,
        request_id: str,
        event: Event,
        actor: Actor,
        now: dt.datetime,
        *,
        note: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> Request:
        """Apply one event atomically (rules, snapshot, audit) or raise TransitionRefused."""
        note = clean_text(note, limit=MAX_NOTE, what="reason")
        approval = Approval(actor.user_id, now, note, dict(evidence or {}))
        args = [
            event.value,
            actor.user_id,
            actor.team_id,
            "1" if actor.is_guest else "0",
            "," + ",".join(sorted(r.value for r in actor.roles)) + ",",
            str(to_us(now)),
            note or "",
            json.dumps(dict(evidence or {})),
            json.dumps(approval.to_dict()),
        ]
        result = await self._script(self._transition, self._keys(request_id), args)
        if result[0] != 1:
            code, message = str(result[1]), str(result[2])
            raise TransitionRefused(code, message or REFUSALS.get(code, code))
        return _audit_from_json(result[1]).request

    async def list_open(self) -> list[Request]:
        """Requests still pending or partially approved, oldest first."""
        try:
            ids = cast(list[str], await self.client.zrange(f"{self.prefix}open", 0, -1))
            async with self.client.pipeline(transaction=False) as pipe:
                for request_id in ids:
                    pipe.hgetall(f"{self.prefix}req:{request_id}")
                hashes = await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        requests = [_from_hash(h) for h in hashes if h]
        return sorted((r for r in requests if r.state.is_open), key=lambda r: (r.created_at, r.id))

    async def expire_due(self, now: dt.datetime) -> list[Request]:
        """Expire every open request whose expiry time has passed; return them as expired."""
        try:
            ids = cast(
                list[str], await self.client.zrangebyscore(f"{self.prefix}open", "-inf", to_us(now))
            )
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        expired = []
        for request_id in ids:
            try:
                expired.append(await self.apply(request_id, Event.EXPIRE, system_actor(), now))
            except TransitionRefused:
                continue  # decided meanwhile
        return expired

    async def audit_events(
        self, *, request_id: str | None = None, since: dt.datetime | None = None
    ) -> list[AuditEvent]:
        """Audit events in order (of one request, or at/after ``since``, or all)."""
        try:
            if request_id is not None:
                raw: list[Any] = await self.client.lrange(
                    f"{self.prefix}audit:req:{request_id}", 0, -1
                )
            else:
                low = to_us(since) if since is not None else "-inf"
                raw = await self.client.zrangebyscore(f"{self.prefix}audit", low, "+inf")
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        events = [_audit_from_json(str(text)) for text in raw]
        if since is not None:
            events = [e for e in events if e.at >= since]
        return sorted(events, key=lambda e: e.seq)

    def once_key(self, kind: str, key: str) -> str:
        """The Redis key :meth:`use_once` sets for ``(kind, key)``."""
        return f"{self.prefix}once:{kind}:{key}"

    async def use_once(self, kind: str, key: str, ttl: float) -> bool:
        """True the first time ``(kind, key)`` is used within ``ttl`` seconds, else False."""
        try:
            done = await self.client.set(
                self.once_key(kind, key), "1", nx=True, px=max(1, int(ttl * 1000))
            )
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        return bool(done)

    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        """Remember the channel and message ts of the request's card."""
        try:
            await self.client.hset(
                f"{self.prefix}card:{request_id}", mapping={"channel": channel, "ts": ts}
            )
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None

    async def card(self, request_id: str) -> tuple[str, str] | None:
        """The (channel, ts) of the request's card, or None."""
        try:
            h = cast(dict[str, str], await self.client.hgetall(f"{self.prefix}card:{request_id}"))
        except RedisError as exc:
            raise StoreError(f"Redis failed: {exc}") from None
        if not h.get("channel") or not h.get("ts"):
            return None
        return h["channel"], h["ts"]
