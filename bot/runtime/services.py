"""What the Slack handlers may use: one plain container, built once by the composition root.

No Slack imports here: handlers receive a :class:`Services` and call into the core through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.approvals.service import ApprovalService
from bot.dns import Resolver
from bot.registry import Registry, RegistryHolder, load_registry
from bot.runtime.dedupe import Deduper, MemoryDeduper
from bot.runtime.history import History
from bot.runtime.metrics import Metrics
from bot.settings import Settings
from bot.verify.sandbox import VerifyPool, attach_verify_pool
from bot.verify.verifier import Verifier
from bot.watch.snapshots import SnapshotStore


@dataclass
class Services:
    """The core services the Slack side calls (extend with new fields as features arrive)."""

    settings: Settings
    resolver: Resolver
    registry: RegistryHolder
    verifier: Verifier
    history: History = field(default_factory=History)
    dedupe: Deduper = field(default_factory=MemoryDeduper)
    today: Callable[[], dt.date] = dt.date.today
    metrics: Metrics = field(default_factory=Metrics)
    approvals: ApprovalService | None = None  # the countersign flow; None leaves it off
    watch: SnapshotStore | None = None  # the vendor watch's last runs (App Home posture table)
    verify_pool: VerifyPool | None = None  # worker processes verifying emails (issue 11)

    @property
    def current_registry(self) -> Registry:
        """The registry in force now (reloads swap it)."""
        return self.registry.registry

    def overdue(self) -> list[str]:
        """Names of vendors whose registry review is overdue."""
        interval = self.settings.review_interval_days
        return [v.name for v in self.current_registry.overdue(self.today(), interval)]


def build_services(
    settings: Settings,
    *,
    resolver: Resolver | None = None,
    registry: Registry | None = None,
) -> Services:
    """Services from settings: the registry file is loaded (RegistryError when invalid)."""
    resolver = resolver or Resolver.from_settings(settings)
    holder = RegistryHolder(registry if registry is not None else load_registry(settings.registry))
    verifier = Verifier(settings, resolver, holder)
    pool = attach_verify_pool(verifier)
    return Services(
        settings=settings, resolver=resolver, registry=holder, verifier=verifier, verify_pool=pool
    )
