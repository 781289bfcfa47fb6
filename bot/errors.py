"""The exception tree.

::

    DeskguardError
    ├── ConfigError          a setting or token is missing or malformed
    ├── RegistryError        the vendor registry file is invalid (carries every problem)
    ├── InputError           a target, file or message cannot be used at all
    │   └── TooLargeError    over the configured size limit
    ├── StoreError           the state store cannot be reached or refused a write
    │   └── TransitionRefused  an approval transition the rules do not allow
    └── SlackApiError        Slack's Web API failed after retries
"""

from __future__ import annotations


class DeskguardError(Exception):
    """Base of every error deskguard raises on purpose."""


class ConfigError(DeskguardError):
    """A setting or token is missing or malformed."""


class RegistryError(DeskguardError):
    """The vendor registry is invalid; ``problems`` lists every finding, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class InputError(DeskguardError):
    """A target, file or message cannot be used at all."""


class TooLargeError(InputError):
    """The input is over the configured size limit."""


class StoreError(DeskguardError):
    """The state store cannot be reached or refused a write."""


class TransitionRefused(StoreError):
    """An approval transition the rules do not allow; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class SlackApiError(DeskguardError):
    """Slack's Web API failed after retries. ``transient``: Slack could not be reached or was
    overloaded (a network error, HTTP 429 or 5xx) and a later attempt may succeed; otherwise Slack
    refused this call (a bad channel or token, blocks it will not take)."""

    transient: bool = True
