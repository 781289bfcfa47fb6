"""The README documents every reason code and every setting."""

from pathlib import Path

from bot.report import CATALOGUE
from bot.settings import FIELDS, env_name

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_reason_code_is_listed():
    missing = [code for code in CATALOGUE if f"| `{code}` |" not in README]
    assert missing == []


def test_every_setting_is_documented():
    names = []
    for name in FIELDS:
        names.append(env_name(name))
    missing = [n for n in names if f"`{n}`" not in README]
    assert missing == []
