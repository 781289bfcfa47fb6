"""The README's Postfix recipe, checked by Postfix's own tools: main.cf and master.cf lines parse
with no warning, the tables route the help-desk address's copy to the pipe transport, and the pipe
runs the installed script as its own user with the 0640 configuration file.

Needs Postfix's ``postconf`` and ``postmap`` (Debian: ``apt-get install postfix``); without them
the test skips and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

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
        pytest.skip("Postfix's postconf/postmap are not installed: the recipe was not checked")
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
