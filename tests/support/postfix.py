"""A private Postfix for the tests and the benchmark: loopback ports, its own config and queue.

``postfix -c DIR start`` runs a master with DIR/main.cf and DIR/master.cf; its queue, data and
log live in the same folder, so it never touches (or needs) the machine's own Postfix setup.
It accepts mail for ``example-corp.test`` on 127.0.0.1 and relays everything to a capture SMTP
server (:class:`Capture`, aiosmtpd in a thread); ``smtpd_milters`` and ``recipient_bcc_maps``
are set from the arguments. Needs root (Postfix's master starts as root and drops to the
``postfix`` user) and the Debian ``postfix`` package.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.redis_server import free_port

SBIN = ("/usr/sbin", "/usr/lib/postfix/sbin", "/sbin")
DOMAIN = "example-corp.test"
MYHOSTNAME = "mx.example-corp.test"


def postfix_binary() -> str | None:
    """The ``postfix`` command, or None when Postfix is not installed."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    return shutil.which("postfix", path=path)


def can_run_postfix() -> str | None:
    """None when a private Postfix can run here, else why not."""
    if postfix_binary() is None:
        return "Postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix needs root (its master drops to the postfix user)"
    return None


@dataclass
class Delivered:
    """One message as the capture server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data)


class _CaptureHandler:
    def __init__(self, sink: list[Delivered], cond: threading.Condition) -> None:
        self.sink = sink
        self.cond = cond

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.cond:
            self.sink.append(
                Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            self.cond.notify_all()
        return "250 2.0.0 captured"


class Capture:
    """A local SMTP server (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Delivered] = []
        self._cond = threading.Condition()
        self._controller = Controller(
            _CaptureHandler(self.messages, self._cond),
            hostname="127.0.0.1",
            port=self.port,
            decode_data=False,
            data_size_limit=64 * 1024 * 1024,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(
        self, predicate: Callable[[list[Delivered]], bool], timeout: float = 60.0
    ) -> list[Delivered]:
        """Wait until ``predicate(messages)`` holds (generous deadline); return the messages."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"capture has {len(self.messages)} message(s)")
                self._cond.wait(left)
            return list(self.messages)

    def with_subject_part(self, text: str) -> list[Delivered]:
        with self._cond:
            return [m for m in self.messages if text in str(m.message.get("Subject", ""))]


MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PrivatePostfix:
    """One Postfix instance in ``workdir`` (config, queue, data, log)."""

    def __init__(
        self,
        workdir: Path | None,
        *,
        relay_port: int,
        milter: str | None = None,
        bcc: dict[str, str] | None = None,
        transports: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        binary = postfix_binary()
        if binary is None:
            raise FileNotFoundError("postfix is not installed")
        self.binary = binary
        # Postfix's daemons drop to the postfix user: the folder must be reachable by it
        self.workdir = Path(tempfile.mkdtemp(prefix="deskguard-postfix-", dir=workdir))
        self.workdir.chmod(0o755)
        self.config = self.workdir / "etc"
        self.queue = self.workdir / "spool"
        self.port = free_port()
        self.config.mkdir()
        (self.workdir / "data").mkdir()
        shutil.chown(self.workdir / "data", "postfix", "postfix")
        self.queue.mkdir()
        params: dict[str, str] = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.workdir / "data"),
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": str(self.workdir / "maillog"),
            "maillog_file_prefixes": str(self.workdir),
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": MYHOSTNAME,
            "mydomain": DOMAIN,
            "myorigin": DOMAIN,
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": DOMAIN,
            "relayhost": f"[127.0.0.1]:{relay_port}",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_tls_security_level": "none",
            "smtputf8_enable": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "delay_warning_time": "0",
            "smtp_connect_timeout": "5s",
            "message_size_limit": str(30 * 1024 * 1024),
            "default_process_limit": "20",
        }
        if milter:
            params.update(
                {
                    "smtpd_milters": milter,
                    "milter_default_action": "accept",
                    "milter_protocol": "6",
                    "milter_connect_timeout": "5s",
                    "milter_command_timeout": "10s",
                    "milter_content_timeout": "15s",
                }
            )
        if bcc:
            params["recipient_bcc_maps"] = self._table("bcc", bcc)
        if transports:
            params["transport_maps"] = self._table("transport", transports)
        params.update(extra or {})
        main = "".join(f"{k} = {v}\n" for k, v in params.items())
        (self.config / "main.cf").write_text(main)
        (self.config / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))

    def _table(self, name: str, entries: dict[str, str]) -> str:
        """A texthash: lookup table in the config folder (no postmap needed)."""
        path = self.config / name
        path.write_text("".join(f"{k} {v}\n" for k, v in entries.items()))
        return f"texthash:{path}"

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        done = self._postfix("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stderr.strip()} {self.log()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        """Stop the master (abort if it will not stop) and remove the instance's folder."""
        done = self._postfix("stop")
        if done.returncode != 0:
            self._postfix("abort")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def held(self) -> int:
        """Messages in the hold queue (milter quarantine)."""
        hold = self.queue / "hold"
        return sum(1 for p in hold.rglob("*") if p.is_file()) if hold.is_dir() else 0

    def log(self) -> str:
        path = self.workdir / "maillog"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def __enter__(self) -> PrivatePostfix:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
