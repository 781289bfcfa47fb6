"""Every Slack name the app answers to: commands, callback ids, action ids, events.

manifest.yml must list exactly the commands, shortcuts and events here (tests/test_manifest.py).
"""

from __future__ import annotations

COMMAND = "/verify-vendor"

# shortcuts (callback ids)
SHORTCUT_VERIFY_SENDER = "verify_sender"  # message shortcut "Verify sender"
SHORTCUT_NEW_REQUEST = "new_high_risk_request"  # global shortcut (the approval flow)
SHORTCUT_CHECK_CALLER = "check_caller"  # global shortcut "Check a caller"

# buttons (action ids)
ACTION_SHARE = "share_report"
ACTION_RECHECK = "recheck"
ACTION_START_REQUEST = "start_high_risk_request"  # the approval flow
ACTION_OPEN_PASTE = "open_paste_modal"
ACTION_APPROVE = "approval_approve"  # a slot's Approve button on a request card
ACTION_DENY = "approval_deny"  # a slot's Deny button on a request card
ACTION_REPORT_SECURITY = "report_to_security"  # a suspicious report, to the triage channel

# modals (callback ids) and their inputs
VIEW_PASTE = "paste_email_source"
BLOCK_PASTE = "paste_block"
INPUT_PASTE = "paste_input"
VIEW_NEW_REQUEST = "approval_new_request"  # the high-risk request modal
VIEW_APPROVE = "approval_confirm"  # callback attestation, reason, vendor proof
VIEW_DENY = "approval_deny_reason"
BLOCK_VENDOR, INPUT_VENDOR = "req_vendor", "vendor"
BLOCK_KIND, INPUT_KIND = "req_kind", "kind"
BLOCK_TICKET, INPUT_TICKET = "req_ticket", "ticket"
BLOCK_SUMMARY, INPUT_SUMMARY = "req_summary", "summary"
BLOCK_PHONE, INPUT_PHONE = "appr_phone", "phone"
BLOCK_CONTACT, INPUT_CONTACT = "appr_contact", "contact"
BLOCK_CALLED, INPUT_CALLED = "appr_called", "called"
BLOCK_REASON, INPUT_REASON = "appr_reason", "reason"
BLOCK_PROOF, INPUT_PROOF = "appr_proof", "proof"
VIEW_CHECK_CALLER = "check_caller_modal"  # "Check a caller": claimed vendor, name, number, ask
BLOCK_CALLER_VENDOR, INPUT_CALLER_VENDOR = "caller_vendor", "vendor"
BLOCK_CALLER_NAME, INPUT_CALLER_NAME = "caller_name", "name"
BLOCK_CALLER_NUMBER, INPUT_CALLER_NUMBER = "caller_number", "number"
BLOCK_CALLER_REQUEST, INPUT_CALLER_REQUEST = "caller_request", "request"

# events: the manifest's bot_events names and the event types they deliver
EVENT_HOME = "app_home_opened"
EVENT_MESSAGE = "message"
BOT_EVENTS = ("app_home_opened", "message.im")

COMMANDS = (COMMAND,)
MESSAGE_SHORTCUTS = (SHORTCUT_VERIFY_SENDER,)
GLOBAL_SHORTCUTS = (SHORTCUT_NEW_REQUEST, SHORTCUT_CHECK_CALLER)
ACTIONS = (
    ACTION_SHARE,
    ACTION_RECHECK,
    ACTION_START_REQUEST,
    ACTION_OPEN_PASTE,
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REPORT_SECURITY,
)
VIEWS = (VIEW_PASTE, VIEW_NEW_REQUEST, VIEW_APPROVE, VIEW_DENY, VIEW_CHECK_CALLER)
