"""``deskguard milter`` refuses to start without a socket, with one line naming the variable."""

from __future__ import annotations

import pytest

from bot.cli import main


def test_milter_without_a_socket_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("DESKGUARD_MILTER_SOCKET", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["milter"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "DESKGUARD_MILTER_SOCKET is not set" in err and "Traceback" not in err


def test_a_malformed_socket_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKGUARD_MILTER_SOCKET", "8891")
    with pytest.raises(SystemExit) as exited:
        main(["milter"])
    assert exited.value.code == 2
    assert "DESKGUARD_MILTER_SOCKET" in capsys.readouterr().err
