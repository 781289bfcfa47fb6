"""The README's Postfix recipe, checked by Postfix's own tools: main.cf and master.cf lines parse
with no warning, the tables route the help-desk address's copy to the pipe transport, and the pipe
runs the installed script as its own user with the 0640 configuration file.

Needs Postfix (Debian: ``apt-get install postfix``, "No configuration"; ``.ci/run`` installs it) and
root to start a private instance; without them the tests skip and say so (fail in CI).
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.runtime.inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.redis_server import free_port, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section() -> str:
    """The README's inbound gate section, with its Postfix subsection."""
    start = README.index("## Inbound email gate")
    assert "### Postfix: copy help-desk mail to the gate" in README[start:]
    return README[start : README.index("\n## ", start)]


def _blocks(section: str) -> dict[str, str]:
    """Fenced blocks whose first line is ``# /etc/...``, by that path."""
    blocks = {}
    for body in re.findall(r"```ini\n(.*?)```", section, flags=re.S):
        lines = [line[3:] if line.startswith("   ") else line for line in body.splitlines()]
        first = lines[0].strip()
        if first.startswith("# /etc/"):
            blocks[first[2:].split()[0]] = "\n".join(lines[1:]) + "\n"
    return blocks


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_the_recipe_names_every_file_it_needs() -> None:
    blocks = _blocks(_section())
    assert set(blocks) >= {
        "/etc/postfix/main.cf",
        "/etc/postfix/master.cf",
        "/etc/postfix/deskguard_bcc",
        "/etc/postfix/deskguard_transport",
        "/etc/deskguard/inbound.conf",
    }
    section = _section()
    assert (
        "install -m 0755 examples/deskguard-inbound.sh /usr/local/bin/deskguard-inbound" in section
    )
    assert "install -m 0640 -o root -g deskguard-gate" in section
    assert "useradd --system" in section and "deskguard-gate" in section
    assert "# /etc/deskguard/inbound.conf  (mode 0640" in section
    assert "secret=" in blocks["/etc/deskguard/inbound.conf"]


def test_postfix_accepts_the_lines_and_routes_a_copy_to_the_script(tmp_path: Path) -> None:
    if not (shutil.which("postconf") and shutil.which("postmap")):
        skip_or_fail("Postfix's postconf/postmap are not installed: the recipe was not checked")
    blocks = _blocks(_section())

    def local(text: str) -> str:
        return text.replace("/etc/postfix/", f"{tmp_path}/")

    for path, text in blocks.items():
        if path.startswith("/etc/postfix/"):
            (tmp_path / Path(path).name).write_text(local(text))
    conf = ["-c", str(tmp_path)]
    shown = _run("postconf", *conf, "-n")
    assert shown.returncode == 0 and "warning" not in shown.stderr, shown.stderr
    assert f"recipient_bcc_maps = hash:{tmp_path}/deskguard_bcc" in shown.stdout
    # transport-specific settings are known to Postfix only through the master.cf service
    assert "deskguard_destination_recipient_limit = 1" in shown.stdout
    command = _run("postconf", *conf, "-F", "deskguard/unix/command").stdout
    assert command.strip() == (
        "deskguard/unix/command = pipe flags=R user=deskguard-gate "
        "argv=/usr/local/bin/deskguard-inbound /etc/deskguard/inbound.conf"
    )
    service = _run("postconf", *conf, "-M", "deskguard/unix").stdout.split()
    assert service[:3] == ["deskguard", "unix", "-"] and service[3:5] == ["n", "n"]  # unprivileged
    bcc, transport = f"hash:{tmp_path}/deskguard_bcc", f"hash:{tmp_path}/deskguard_transport"
    made = _run("postmap", *conf, bcc, transport)
    assert made.returncode == 0, made.stderr
    copy = _run("postmap", *conf, "-q", "helpdesk@corp.example", bcc).stdout.strip()
    domain = copy.rpartition("@")[2]
    assert copy and domain == "deskguard.invalid"
    assert _run("postmap", *conf, "-q", domain, transport).stdout.strip() == "deskguard:"
    # the copy's address routes only to the pipe; other mail is not mapped
    assert _run("postmap", *conf, "-q", "someone@corp.example", bcc).stdout == ""


# --- the recipe in a private Postfix on a loopback port -------------------------------------------

BASE_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.corp.example
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = corp.example
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = inline:{{ helpdesk@corp.example=helpdesk/ }}
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
"""
MESSAGE = (
    b"From: Vendor <support@northwind.example>\r\nTo: helpdesk@corp.example\r\n"
    b"Subject: patch\r\nMessage-ID: <p1@northwind.example>\r\n\r\nplease install\r\n"
)


@dataclass
class PrivatePostfix:
    """A Postfix whose whole state lives in ``root``; smtpd on ``port``."""

    root: Path
    port: int

    @property
    def conf(self) -> list[str]:
        return ["-c", str(self.root / "conf")]

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def send(self, body: bytes = MESSAGE) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.sendmail("support@northwind.example", ["helpdesk@corp.example"], body)

    def delivered(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted((self.root / "mail").rglob("new/*"))]

    def queue(self) -> str:
        return _run("postqueue", *self.conf, "-p").stdout


async def _until(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def postfix() -> Iterator[PrivatePostfix]:
    if not (shutil.which("postfix") and Path("/usr/lib/postfix/sbin/master").exists()):
        skip_or_fail("Postfix is not installed: the recipe did not run in a real Postfix")
    if os.geteuid() != 0:
        skip_or_fail("starting a private Postfix needs root: the recipe did not run")
    try:
        pwd.getpwnam("postfix"), pwd.getpwnam("nobody"), grp.getgrnam("postdrop")
    except KeyError as exc:
        skip_or_fail(f"Postfix's users are missing ({exc}): the recipe did not run")
    root = Path(tempfile.mkdtemp(prefix="deskguard-postfix-"))
    root.chmod(0o755)  # the pipe runs as an unprivileged user: it must reach the script
    for sub in ("conf", "queue", "data", "mail", "gate"):
        (root / sub).mkdir()
    shutil.chown(root / "data", "postfix")
    (root / "mail").chmod(0o777)
    blocks = _blocks(_section())
    gate = root / "gate"
    script = gate / "deskguard-inbound"
    shutil.copy(ROOT / "examples" / "deskguard-inbound.sh", script)
    script.chmod(0o755)

    def local(text: str) -> str:
        # The README's paths, moved into this instance; the dedicated user is `nobody` here.
        return (
            text.replace("/etc/postfix/", f"{root}/conf/")
            .replace("/usr/local/bin/deskguard-inbound", str(script))
            .replace("/etc/deskguard/inbound.conf", str(gate / "inbound.conf"))
            .replace("user=deskguard-gate", "user=nobody")
        )

    port = free_port()
    master = (Path("/usr/share/postfix/master.cf.dist")).read_text()
    master = re.sub(
        r"^smtp\s+inet.*$", f"127.0.0.1:{port} inet n - n - - smtpd", master, flags=re.M
    )
    # no chroot: the private queue directory has no copy of /etc
    master = re.sub(r"^(\S+\s+\S+\s+\S+\s+\S+\s+)y(\s)", r"\1n\2", master, flags=re.M)
    (root / "conf" / "master.cf").write_text(master + local(blocks["/etc/postfix/master.cf"]))
    main = BASE_MAIN_CF.format(root=root) + local(blocks["/etc/postfix/main.cf"])
    (root / "conf" / "main.cf").write_text(main)
    for name in ("deskguard_bcc", "deskguard_transport"):
        (root / "conf" / name).write_text(blocks[f"/etc/postfix/{name}"])
        made = _run("postmap", "-c", str(root / "conf"), f"hash:{root}/conf/{name}")
        assert made.returncode == 0, made.stderr
    instance = PrivatePostfix(root, port)
    started = _run("postfix", *instance.conf, "start")
    try:
        assert started.returncode == 0, started.stderr + instance.log()
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield instance
    finally:
        _run("postfix", *instance.conf, "stop")
        for _ in range(100):  # master exits after its children
            if not _run("postfix", *instance.conf, "status").returncode:
                time.sleep(0.1)
                continue
            break
        shutil.rmtree(root, ignore_errors=True)


def _gate_config(postfix: PrivatePostfix, url: str) -> None:
    path = postfix.root / "gate" / "inbound.conf"
    path.write_text(f"url={url}\nsecret=postfix-gate-secret\ntimeout=5\n")
    os.chown(path, 0, grp.getgrnam("nogroup").gr_gid if _has_group("nogroup") else 65534)
    path.chmod(0o640)


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
async def gate() -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """A local gate: checks the signature, records bodies; answers the status queued in
    ``answers`` (202 when empty)."""
    received: list[bytes] = []
    answers: list[int] = []

    async def inbound(request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get(TIMESTAMP_HEADER, "")
        if request.headers.get(SIGNATURE_HEADER) != sign("postfix-gate-secret", ts, body):
            return web.json_response({"ok": False, "error": "bad_signature"}, status=401)
        status = answers.pop(0) if answers else 202
        if status == 202:
            received.append(body)
            return web.json_response({"ok": True, "id": f"job-{len(received)}"}, status=202)
        return web.json_response({"ok": False, "error": f"code_{status}"}, status=status)

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/inbound/email", inbound)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/inbound/email"
    try:
        yield url, received, answers
    finally:
        await runner.cleanup()


async def test_postfix_delivers_as_before_and_copies_to_the_gate(
    postfix: PrivatePostfix, gate: tuple[str, list[bytes], list[int]]
) -> None:
    url, received, _ = gate
    _gate_config(postfix, url)
    await asyncio.to_thread(postfix.send)
    await _until(lambda: bool(received) and bool(postfix.delivered()), "delivery and the copy")
    (original,) = postfix.delivered()
    assert b"Subject: patch" in original and b"please install" in original
    (copy,) = received
    assert copy.startswith(b"Return-Path: <support@northwind.example>")  # flags=R
    assert b"Received: from " in copy and b"Message-ID: <p1@northwind.example>" in copy
    await _until(lambda: "relay=deskguard" in postfix.log(), "the pipe's log line")
    assert re.search(
        r"to=<helpdesk@deskguard\.invalid>, relay=deskguard,.*status=sent", postfix.log()
    )
    assert "Mail queue is empty" in postfix.queue()


async def test_a_failing_gate_defers_the_copy_and_never_bounces(
    postfix: PrivatePostfix, gate: tuple[str, list[bytes], list[int]]
) -> None:
    url, received, answers = gate
    answers.extend([503, 413])
    _gate_config(postfix, url)
    await asyncio.to_thread(postfix.send)
    await _until(lambda: "status=deferred" in postfix.log(), "the copy to be deferred")
    log = postfix.log()
    assert re.search(r"to=<helpdesk@deskguard\.invalid>, relay=deskguard,.*status=deferred", log)
    assert "HTTP 503 code_503" in log and "curl" not in log.split("relay=deskguard", 1)[1]
    assert len(postfix.delivered()) == 1  # the original was delivered all the same
    assert "helpdesk@deskguard.invalid" in postfix.queue()  # the copy waits for a retry
    # retried now: the gate refuses it for good (413): dropped with a log line, not bounced
    _run("postqueue", *postfix.conf, "-f")
    copy_sent = re.compile(r"to=<helpdesk@deskguard\.invalid>, relay=deskguard,.*status=sent")
    await _until(lambda: bool(copy_sent.search(postfix.log())), "the retried copy")
    assert "HTTP 413 code_413" in postfix.log() and received == []
    assert "status=bounced" not in postfix.log() and "sender non-delivery" not in postfix.log()
    await _until(lambda: "Mail queue is empty" in postfix.queue(), "an empty queue")
