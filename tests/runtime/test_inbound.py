"""The gate's HMAC check: good, bad, replayed, stale, oversize, empty."""

import time

import pytest

from bot.runtime.inbound import check_request, sign

SECRET = "s3cret"


class Once:
    def __init__(self):
        self.seen: set[str] = set()

    async def __call__(self, key: str) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


async def _check(body=b"From: a@b.example\r\n\r\nhi", ts=None, sig=None, once=None, **kw):
    ts = ts if ts is not None else str(int(time.time()) - kw.get("age", 0))
    sig = sig if sig is not None else sign(SECRET, ts, body)
    return await check_request(
        secret=SECRET,
        timestamp=ts,
        signature=sig,
        body=body,
        max_bytes=kw.get("max_bytes", 1024),
        first_use=once or Once(),
    )


async def test_good_signature_accepted():
    assert await _check() is None


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"sig": "v1=" + "0" * 64}, 401, "bad_signature"),
        ({"sig": ""}, 401, "missing_signature"),
        ({"ts": "yesterday"}, 400, "bad_timestamp"),
        ({"ts": "\u00b2"}, 400, "bad_timestamp"),  # passes str.isdigit(), fails int()
        ({"ts": "\u0661\u0662"}, 400, "bad_timestamp"),  # Arabic-Indic digits: int() takes them
        ({"ts": "1e3"}, 400, "bad_timestamp"),
        ({"ts": "9" * 13}, 400, "bad_timestamp"),
        ({"sig": "v1=" + "0" * 200}, 401, "bad_signature"),
        ({"age": 301}, 401, "stale_timestamp"),
        ({"age": -301}, 401, "stale_timestamp"),
        ({"body": b"x" * 2048}, 413, "too_large"),
        ({"body": b"  \r\n"}, 400, "empty_body"),
    ],
)
async def test_refusals(kwargs, status, code):
    refusal = await _check(**kwargs)
    assert refusal is not None and (refusal.status, refusal.code) == (status, code)


async def test_replay_refused():
    once = Once()
    ts = str(int(time.time()))
    body = b"From: a@b.example\r\n\r\nhi"
    assert await _check(body=body, ts=ts, once=once) is None
    refusal = await _check(body=body, ts=ts, once=once)
    assert refusal is not None and refusal.code == "replayed"


async def test_signature_covers_the_body():
    ts = str(int(time.time()))
    sig = sign(SECRET, ts, b"original")
    refusal = await _check(body=b"tampered", ts=ts, sig=sig)
    assert refusal is not None and refusal.code == "bad_signature"
