"""The README documents every reason code and every setting."""

from pathlib import Path

from bot.report import CATALOGUE
from bot.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_reason_code_is_listed():
    missing = [code for code in CATALOGUE if f"| `{code}` |" not in README]
    assert missing == []


def test_every_setting_is_documented():
    names = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        env = alias.choices[0] if alias is not None else f"DESKGUARD_{name.upper()}"
        names.append(env)
    missing = [n for n in names if f"`{n}`" not in README]
    assert missing == []
