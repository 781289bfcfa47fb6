import json
import logging

from bot.runtime.logs import JsonFormatter, TextFormatter, redact, request_id


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
