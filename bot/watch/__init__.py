"""The vendor watch: every vendor's mail posture and its drift, and registered lookalike domains.

Modules: posture.py (one row per vendor domain), drift.py (what changed since the last snapshot),
lookalikes.py (dnstwist's permutations, resolved at a bounded rate), ratelimit.py, snapshots.py
(the last run, in SQLite or Redis), output.py (text, JSON Lines, CSV), cli.py (the sub-commands),
schedule.py (the periodic run in ``deskguard serve``).
"""
