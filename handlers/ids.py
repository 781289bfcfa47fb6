"""Every Slack name the app answers to: commands, callback ids, action ids, events.

manifest.yml must list exactly the commands, shortcuts and events here (tests/test_manifest.py).
"""

from __future__ import annotations

COMMAND = "/verify-vendor"

# shortcuts (callback ids)
SHORTCUT_VERIFY_SENDER = "verify_sender"  # message shortcut "Verify sender"
SHORTCUT_NEW_REQUEST = "new_high_risk_request"  # global shortcut (the approval flow)

# buttons (action ids)
ACTION_SHARE = "share_report"
ACTION_RECHECK = "recheck"
ACTION_START_REQUEST = "start_high_risk_request"  # the approval flow
ACTION_OPEN_PASTE = "open_paste_modal"

# modals (callback ids) and their inputs
VIEW_PASTE = "paste_email_source"
BLOCK_PASTE = "paste_block"
INPUT_PASTE = "paste_input"

# events: the manifest's bot_events names and the event types they deliver
EVENT_HOME = "app_home_opened"
EVENT_MESSAGE = "message"
BOT_EVENTS = ("app_home_opened", "message.im")

COMMANDS = (COMMAND,)
MESSAGE_SHORTCUTS = (SHORTCUT_VERIFY_SENDER,)
GLOBAL_SHORTCUTS = (SHORTCUT_NEW_REQUEST,)
ACTIONS = (ACTION_SHARE, ACTION_RECHECK, ACTION_START_REQUEST, ACTION_OPEN_PASTE)
VIEWS = (VIEW_PASTE,)
