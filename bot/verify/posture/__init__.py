"""A domain's email posture: SPF, DMARC, MX, DKIM keys at known selectors, MTA-STS.

Every look-up goes through the project's async :class:`~bot.dns.Resolver`, all at once where they
do not depend on each other. Each part carries a :class:`CheckStatus`; a DNS failure shows as
``could_not_check`` and never as ``missing``. The SPF part is a summary (record, ``all``
qualifier, DNS-lookup count through includes and redirects), not an SPF evaluation.

One module per part (spf, mx, dkim_keys, mta_sts); domain.py holds the whole :class:`Posture`
and :func:`check_posture`. This package's names are its public face.
"""

from __future__ import annotations

from bot.mail.dmarc_policy import CheckStatus
from bot.verify.posture.dkim_keys import DkimKeyPosture, check_dkim_key
from bot.verify.posture.domain import DmarcPosture, Posture, check_posture
from bot.verify.posture.mta_sts import MtaStsPosture, check_mta_sts
from bot.verify.posture.mx import MxHost, MxPosture, check_mx
from bot.verify.posture.spf import SpfPosture, check_spf

__all__ = [
    "CheckStatus",
    "DkimKeyPosture",
    "DmarcPosture",
    "MtaStsPosture",
    "MxHost",
    "MxPosture",
    "Posture",
    "SpfPosture",
    "check_dkim_key",
    "check_mta_sts",
    "check_mx",
    "check_posture",
    "check_spf",
]
