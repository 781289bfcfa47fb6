import asyncio
import json
import logging
import sys
import warnings
from collections.abc import Iterator

import aiohttp
import pytest

from bot.runtime.logs import (
    JsonFormatter,
    LogPolicy,
    TextFormatter,
    configure_logging,
    network_error,
    redact,
    request_id,
)
from bot.runtime.metrics import Metrics
from bot.runtime.server import Mode, build_bolt_app, slack_mode, start_socket_mode
from bot.runtime.services import build_services
from bot.settings import Settings
from tests.support.redis_server import free_port


def _record(msg: str, **extra) -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": msg, "levelname": "INFO", "name": "t"})
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_has_request_id_and_only_safe_fields():
    token = request_id.set("abc123")
    try:
        line = JsonFormatter().format(
            _record("processed", verdict="spoofed", body="secret body", token="xoxb-1-2")
        )
    finally:
        request_id.reset(token)
    data = json.loads(line)
    assert data["request_id"] == "abc123" and data["verdict"] == "spoofed"
    assert "body" not in data and "token" not in data
    assert "secret body" not in line


def test_secrets_are_masked_in_messages():
    text = "token xoxb-123-abc and xapp-1-A and v0=" + "a" * 64
    masked = redact(text)
    assert "xoxb-123" not in masked and "xapp-1" not in masked and "a" * 64 not in masked
    assert "xoxb" not in TextFormatter().format(_record(text))


# --- one line per event, in one format --------------------------------------------------------


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger (and Python warnings) back as they were after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_network_failure_is_one_line_without_traceback_and_counted_for_slack():
    counted: list[int] = []
    policy = LogPolicy(on_slack_unreachable=lambda: counted.append(1))
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError:
        record = logging.makeLogRecord(
            {"msg": "Failed to connect; Retrying...", "name": "deskguard.bolt", "levelno": 40}
        )
        record.exc_info = sys.exc_info()
    assert policy.filter(record) is True
    assert record.exc_info is None
    assert record.error.startswith("ConnectionRefusedError")  # type: ignore[attr-defined]
    assert counted == [1]
    line = JsonFormatter().format(record)
    assert "Traceback" not in line and "ConnectionRefusedError" in line
    # the same failure logged by a non-Slack logger loses its traceback but is not counted
    other = logging.makeLogRecord({"msg": "x", "name": "deskguard.worker"})
    other.exc_info = (TimeoutError, TimeoutError(), None)
    assert policy.filter(other) and other.exc_info is None and counted == [1]


def test_a_programming_error_keeps_its_traceback():
    policy = LogPolicy()
    try:
        raise KeyError("bug")
    except KeyError:
        record = logging.makeLogRecord({"msg": "listener failed", "name": "deskguard.bolt"})
        record.exc_info = sys.exc_info()
    assert policy.filter(record) and record.exc_info is not None
    assert network_error(KeyError("x")) is None
    assert isinstance(network_error(aiohttp.ServerDisconnectedError()), aiohttp.ClientError)


def test_bolt_client_token_notice_is_dropped(root_logging, capsys, monkeypatch, resolver, registry):
    """slack_bolt says "As you gave `client`…" whenever SLACK_BOT_TOKEN is in the environment."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-abcdefgh")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    configure_logging("json", "INFO")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    build_bolt_app(build_services(settings, resolver=resolver, registry=registry), Mode.HTTP)
    err = capsys.readouterr().err
    assert "As you gave" not in err
    # the filter, not the absence of the line, is what is tested: bolt did try to say it
    logging.getLogger("deskguard.bolt").warning(
        "As you gave `client` as well, `token` will be unused."
    )
    logging.getLogger("deskguard.bolt").warning("something else")
    assert [line["msg"] for line in _lines(capsys.readouterr().err)] == ["something else"]


def test_python_warnings_come_out_once_as_json(root_logging, capsys):
    configure_logging("json", "INFO")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings restored showwarning; route it again
        warnings.warn("an old API", DeprecationWarning, stacklevel=1)
    lines = _lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0]["level"] == "warning"
    assert "an old API" in str(lines[0]["msg"])


async def test_unreachable_slack_is_one_line_per_attempt_and_a_metric(
    root_logging, capsys, resolver, registry
):
    """The real Socket Mode client retrying against a Slack that does not answer."""
    metrics = Metrics()
    configure_logging("json", "INFO", on_slack_unreachable=metrics.slack_unreachable.inc)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-1111-2222-abcdefgh",
        slack_app_token="xapp-1-A0001-1234-abcdef",
        slack_api_url=f"http://127.0.0.1:{free_port()}/api/",
    )
    services = build_services(settings, resolver=resolver, registry=registry)
    handler = start_socket_mode(services, build_bolt_app(services, slack_mode(settings)))
    task = asyncio.create_task(handler.connect_async())
    try:
        for _ in range(600):
            if metrics.slack_unreachable._value.get() >= 1:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await handler.close_async()
    failures = metrics.slack_unreachable._value.get()
    assert failures >= 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = _lines(err)
    failed = [line for line in lines if line["level"] == "error"]
    assert len(failed) >= failures and all("error" in line for line in failed)
    assert not any("A retry handler found" in str(line["msg"]) for line in lines)
