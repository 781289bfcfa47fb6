"""The countersign flow in Slack: open a high-risk request, approve or deny each slot, audit.

Entry points: the report's "Start high-risk request" button, the global shortcut "New
high-risk request" and ``/verify-vendor request [vendor]`` open the request modal; its submission
opens the request and posts the card to ``DESKGUARD_APPROVALS_CHANNEL``. The card's Approve and
Deny buttons open a confirmation modal (callback attestation, reason and, for vendors with a
token, the vendor's proof) or the deny modal. ``/verify-vendor audit <id>`` shows the trail.

State first, then Slack: a modal's submission is acknowledged only after the service stored the
transition (a refusal stays in the modal as an error and changes nothing); then the card is
refreshed with ``chat.update`` (retried on connection errors, 429 and 5xx) and, once final, the
requester gets a DM. A Slack failure after the write is logged and told to the person who acted;
it never undoes or repeats the transition. A refused click gets an ephemeral explanation.

Modules: listeners.py (the Bolt wiring), opening.py and deciding.py (the steps), forms.py
(reading modal submissions), cards.py (posting and refreshing the card, the requester's DMs),
commands.py (the ``/verify-vendor`` words), ui.py (what the steps share), slack_roles.py (who a
Slack user is), and the pure Block Kit builders pieces.py, card_blocks.py, modal_blocks.py and
message_blocks.py.
"""

from __future__ import annotations

from handlers.approvals.cards import card_updater
from handlers.approvals.commands import SUBCOMMANDS
from handlers.approvals.listeners import register_approvals

__all__ = ["SUBCOMMANDS", "card_updater", "register_approvals"]
