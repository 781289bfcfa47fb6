"""Benchmark: deskguard's email verification vs mailauth's ``authenticate()`` (Node), one run.

    .venv/bin/python bench/bench_vs_mailauth.py [--messages 500] [--rounds 3]

Generates a corpus of messages of 6-54 KB: RSA-2048 and Ed25519 signatures, ESP double signatures
(the vendor's and the sending service's), ARC-sealed mailing-list relays, spoofs and tampered
bodies.
Both sides answer DNS from the same in-memory snapshot, get the same SMTP envelope (client IP, HELO,
MAIL FROM) and are warmed up by one untimed pass over the corpus; start-up is excluded. The rounds
alternate (deskguard, then mailauth in a fresh warmed Node process, and again), so that both see
the machine in the same state. The script checks that both agree on every
DKIM signature, DMARC and ARC result, then prints messages per second, CPU ms per message and the
ratio (deskguard throughput / mailauth throughput, per round and the median).

mailauth 7 needs Node 22; both come from npm into bench/mailauth/node_modules on first use
(``npm install`` there; nothing is downloaded from anywhere else).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "bench" / "mailauth"
sys.path.insert(0, str(ROOT))

from bot.dns import Resolver, Snapshot  # noqa: E402
from bot.mail.arrival import Arrival, Envelope  # noqa: E402
from bot.registry import load_registry  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.verify.verifier import RegistryHolder, Verifier  # noqa: E402
from tests.support.mailsign import arc_seal, build, ed25519_key, rsa_key, sign  # noqa: E402

MTA = "mx.example-corp.test"
VENDOR, VENDOR_IP, VENDOR_HELO = "northwind-software.com", "192.0.2.25", "mx.northwind-software.com"
ESP, ESP_IP, ESP_HELO = "mailer-esp.example", "198.51.100.10", "out.mailer-esp.example"
LIST, LIST_IP, LIST_HELO = "lists.partner.example", "198.51.100.40", "mx.lists.partner.example"
ATTACKER_IP, ATTACKER_HELO = "203.0.113.66", "mail.attacker.example"
WORDS = (
    "licence",
    "server",
    "update",
    "maintenance",
    "window",
    "invoice",
    "quarterly",
    "report",
    "schedule",
    "network",
    "router",
    "firmware",
    "account",
    "renewal",
    "support",
    "ticket",
    "contract",
    "delivery",
    "shipment",
    "please",
    "review",
)
KINDS = ("rsa", "ed25519", "esp_double", "arc_list", "spoof", "tampered")


def _body(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(12))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def make_corpus(count: int) -> dict[str, Any]:
    """The messages with their envelopes, and the DNS snapshot both sides answer from."""
    rng = random.Random(13)
    rsa, ed, esp_key, list_key = (
        rsa_key(2048, "v"),
        ed25519_key("v"),
        rsa_key(2048, "e"),
        rsa_key(2048, "l"),
    )
    zone: dict[str, dict[str, list[str]]] = {
        VENDOR: {
            "TXT": [f"v=spf1 ip4:{VENDOR_IP} include:{ESP} -all"],
            "MX": [f"10 {VENDOR_HELO}"],
        },
        f"_dmarc.{VENDOR}": {"TXT": ["v=DMARC1; p=reject"]},
        f"s1._domainkey.{VENDOR}": {"TXT": [rsa.txt()]},
        f"ed1._domainkey.{VENDOR}": {"TXT": [ed.txt()]},
        VENDOR_HELO: {"A": [VENDOR_IP]},
        ESP: {"TXT": [f"v=spf1 ip4:{ESP_IP} -all"], "MX": [f"10 {ESP_HELO}"]},
        f"_dmarc.{ESP}": {"TXT": ["v=DMARC1; p=none"]},
        f"esp._domainkey.{ESP}": {"TXT": [esp_key.txt()]},
        ESP_HELO: {"A": [ESP_IP]},
        LIST: {"TXT": [f"v=spf1 ip4:{LIST_IP} -all"], "MX": [f"10 {LIST_HELO}"]},
        f"_dmarc.{LIST}": {"TXT": ["v=DMARC1; p=none"]},
        f"arc._domainkey.{LIST}": {"TXT": [list_key.txt()]},
        LIST_HELO: {"A": [LIST_IP]},
    }
    messages = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        body = _body(rng, rng.randint(6 * 1024, 54 * 1024))
        raw = build(
            from_=f"Dana Whitfield <dana.whitfield@{VENDOR}>",
            subject=f"Update {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            body=body,
        )
        ip, helo, sender = VENDOR_IP, VENDOR_HELO, f"dana.whitfield@{VENDOR}"
        if kind == "rsa":
            raw = sign(raw, domain=VENDOR, selector="s1", key=rsa, canonicalize="relaxed/relaxed")
        elif kind == "ed25519":
            raw = sign(raw, domain=VENDOR, selector="s1", key=rsa)
            raw = sign(raw, domain=VENDOR, selector="ed1", key=ed)
        elif kind == "esp_double":
            raw = sign(raw, domain=VENDOR, selector="s1", key=rsa, canonicalize="relaxed/relaxed")
            raw = sign(raw, domain=ESP, selector="esp", key=esp_key)
            ip, helo, sender = ESP_IP, ESP_HELO, f"bounce-{i}@{ESP}"
        elif kind == "arc_list":
            raw = sign(raw, domain=VENDOR, selector="s1", key=rsa)
            raw = raw.replace(b"Subject: Update", b"Subject: [partner-list] Update", 1)
            raw += b"-- \r\nYou are subscribed to partner-list.\r\n"
            raw = arc_seal(
                raw,
                domain=LIST,
                selector="arc",
                key=list_key,
                srv_id=LIST,
                results=f"dkim=pass header.d={VENDOR}; spf=pass smtp.mailfrom={VENDOR}",
            )
            ip, helo, sender = LIST_IP, LIST_HELO, f"partner-list-bounces@{LIST}"
        elif kind == "spoof":
            ip, helo = ATTACKER_IP, ATTACKER_HELO
        elif kind == "tampered":
            raw = sign(raw, domain=VENDOR, selector="s1", key=rsa)
            raw = raw.replace(b"invoice", b"INVOICE", 1) if b"invoice" in raw else raw + b"x\r\n"
            ip, helo = ATTACKER_IP, ATTACKER_HELO
        messages.append({"kind": kind, "raw": raw, "ip": ip, "helo": helo, "sender": sender})
    return {"dns": zone, "messages": messages}


class DeskguardSide:
    """deskguard's verifier over the corpus in this process, warmed by one untimed pass."""

    def __init__(self, corpus: dict[str, Any]) -> None:
        settings = Settings(registry=ROOT / "examples" / "vendors.yml", trusted_authserv_ids=(MTA,))
        resolver = Resolver(snapshot=Snapshot(corpus["dns"]))
        self.verifier = Verifier(
            settings, resolver, RegistryHolder(load_registry(settings.registry))
        )
        self.items = [
            (m["raw"], Envelope(m["ip"], helo=m["helo"], mail_from=m["sender"]))
            for m in corpus["messages"]
        ]
        self.loop = asyncio.new_event_loop()
        self.reports: list[Any] = self.loop.run_until_complete(self._once())

    async def _once(self) -> list[Any]:
        return [
            await self.verifier.verify_message(raw, arrival=Arrival.RAW, envelope=env)
            for raw, env in self.items
        ]

    def round(self) -> dict[str, float]:
        """One timed pass over every message."""
        cpu0, wall0 = time.process_time(), time.perf_counter()
        self.reports = self.loop.run_until_complete(self._once())
        return {
            "cpu_ms": (time.process_time() - cpu0) * 1e3,
            "wall_ms": (time.perf_counter() - wall0) * 1e3,
        }

    def results(self) -> list[Any]:
        """The last pass's DKIM, DMARC, ARC and SPF results, for the comparison."""
        return [_ours(r.details.get("auth") or {}) for r in self.reports]


def _ours(auth: dict[str, Any]) -> dict[str, Any]:
    return {
        "dkim": [
            {"domain": (d.get("domain") or "").lower(), "result": d.get("deskguard_result")}
            for d in auth.get("dkim", [])
        ],
        "dmarc": (auth.get("dmarc") or {}).get("result"),
        "arc": (auth.get("arc") or {}).get("cv"),
        "spf": (auth.get("spf") or {}).get("result"),
    }


def _ensure_peer() -> Path:
    node = PEER / "node_modules" / ".bin" / "node"
    if not node.exists():
        print("installing mailauth and Node 22 from npm into bench/mailauth/node_modules …")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    return node


def run_mailauth(corpus: dict[str, Any], rounds: int) -> tuple[list[dict[str, float]], list[Any]]:
    """mailauth over the same corpus in one Node process."""
    node = _ensure_peer()
    payload = {
        "mta": MTA,
        "dns": corpus["dns"],
        "messages": [
            {
                "raw_b64": base64.b64encode(m["raw"]).decode(),
                "ip": m["ip"],
                "helo": m["helo"],
                "sender": m["sender"],
            }
            for m in corpus["messages"]
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    out = subprocess.run(
        [str(node), str(PEER / "authenticate.mjs"), handle.name, str(rounds)],
        cwd=PEER,
        check=True,
        capture_output=True,
        text=True,
    )
    Path(handle.name).unlink()
    data = json.loads(out.stdout)
    return data["timings"], data["results"]


def _normalize_dkim(result: str | None) -> str:
    # mailauth says "neutral" for a signature it cannot use (bad tags, no key, policy); deskguard
    # says permerror/none/policy for the same: compare pass vs not-pass, and temperror apart.
    if result == "pass":
        return "pass"
    if result == "temperror":
        return "temperror"
    return "fail"


def compare(corpus: dict[str, Any], ours: list[Any], theirs: list[Any]) -> list[str]:
    """Every disagreement on DKIM (per signature), DMARC and ARC, as readable lines."""
    problems = []
    for i, (mine, peer) in enumerate(zip(ours, theirs, strict=True)):
        kind = corpus["messages"][i]["kind"]
        a = sorted((d["domain"], _normalize_dkim(d["result"])) for d in mine["dkim"])
        b = sorted(
            (d["domain"], _normalize_dkim(d["result"]))
            for d in peer["dkim"]
            if d["domain"] or d["result"] != "none"  # mailauth's "no signature" entry
        )
        if a != b:
            problems.append(f"#{i} {kind}: DKIM deskguard {a} mailauth {b}")
        if (mine["dmarc"] or "none") != (peer["dmarc"] or "none"):
            problems.append(
                f"#{i} {kind}: DMARC deskguard {mine['dmarc']} mailauth {peer['dmarc']}"
            )
        if (mine["arc"] or "none") != (peer["arc"] or "none"):
            problems.append(f"#{i} {kind}: ARC deskguard {mine['arc']} mailauth {peer['arc']}")
    return problems


def main() -> None:
    """Run both sides on one corpus and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = make_corpus(args.messages)
    sizes = [len(m["raw"]) for m in corpus["messages"]]
    ours = DeskguardSide(corpus)
    ours_t: list[dict[str, float]] = []
    peer_t: list[dict[str, float]] = []
    peer_r: list[Any] = []
    for _ in range(args.rounds):  # alternating: both sides see the machine in the same state
        ours_t.append(ours.round())
        timings, peer_r = run_mailauth(corpus, 1)
        peer_t.extend(timings)
    ours_r = ours.results()
    n = len(sizes)
    print(
        f"messages: {n}, {min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KB, "
        f"kinds {', '.join(KINDS)}"
    )
    ratios = []
    for r, (o, p) in enumerate(zip(ours_t, peer_t, strict=True), 1):
        o_rate, p_rate = n / (o["wall_ms"] / 1e3), n / (p["wall_ms"] / 1e3)
        ratios.append(o_rate / p_rate)
        print(
            f"round {r}: deskguard {o_rate:7.1f} msg/s {o['cpu_ms'] / n:6.2f} ms CPU/msg | "
            f"mailauth {p_rate:7.1f} msg/s {p['cpu_ms'] / n:6.2f} ms CPU/msg | "
            f"ratio {ratios[-1]:.2f}x"
        )
    cpu_ratio = statistics.median(p["cpu_ms"] for p in peer_t) / statistics.median(
        o["cpu_ms"] for o in ours_t
    )
    print(f"median ratio (deskguard / mailauth throughput): {statistics.median(ratios):.2f}x")
    print(f"CPU ratio (mailauth CPU / deskguard CPU per message): {cpu_ratio:.2f}x")
    problems = compare(corpus, ours_r, peer_r)
    print(f"agreement: {n - len({p.split(':')[0] for p in problems})}/{n} messages agree")
    for line in problems[:20]:
        print("  " + line)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
