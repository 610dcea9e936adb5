"""The documentation says what the code does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nbshare.cli import main
from nbshare.settings import SETTINGS, Settings

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    docs = (ROOT / "docs" / "settings.md").read_text()
    row = next((line for line in docs.splitlines() if line.startswith(f"| `{setting.name}`")), None)
    assert row is not None, f"{setting.name} missing from docs/settings.md"
    assert f"`{setting.env_var}`" in row
    if setting.default is not None:
        assert f"`{setting.default}`" in row


def test_settings_class_matches_the_declarations():
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert fields == {s.name: s.default for s in SETTINGS}


def test_settings_come_from_the_environment():
    s = Settings.from_env({"NBSHARE_PORT": "9001", "NBSHARE_PUBLIC_URL": "https://nb.example.org/"})
    assert s.port == 9001 and s.public_url == "https://nb.example.org"
    assert Settings.from_env({"NBSHARE_PORT": "9001"}, port=9002).port == 9002
    with pytest.raises(ValueError, match="NBSHARE_PORT"):
        Settings.from_env({"NBSHARE_PORT": "nine"})


def test_readme_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make serve" in quick and "make test" in quick
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make lint" in ci


def test_every_error_code_is_documented():
    """A person reading an error's code can look it up in docs/usage.md."""
    import re

    docs = (ROOT / "docs" / "usage.md").read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "nbshare").rglob("*.py"))
    codes = set(re.findall(r'\bcode\s*(?::\s*str\s*)?=\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'"code":\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'_error\(request, \d+, "([a-z_]+)"', source))
    assert len(codes) > 40, codes
    missing = sorted(code for code in codes if f"`{code}`" not in docs)
    assert not missing, f"error codes missing from docs/usage.md: {missing}"


def _command_row(name: str) -> str:
    docs = (ROOT / "docs" / "usage.md").read_text()
    row = next((line for line in docs.splitlines() if line.startswith(f"| `nbshare {name} ")), None)
    assert row is not None, f"`nbshare {name}` has no row in docs/usage.md's table of commands"
    return row.split("` |", 1)[0]  # the synopsis, not the description after it


def _long_options(command) -> list[str]:
    import click

    return [
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    ]


def _names(text: str, opt: str) -> bool:
    """Whether `text` has `opt` whole (--password is not named by --password-stdin)."""
    import re

    return re.search(re.escape(opt) + r"(?![\w-])", text) is not None


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_option_is_documented(name):
    """As sqlite-utils does: each command's row in docs/usage.md names every one of its options."""
    synopsis = _command_row(name)
    missing = [opt for opt in _long_options(main.commands[name]) if not _names(synopsis, opt)]
    assert not missing, f"nbshare {name}: {missing} missing from its row in docs/usage.md"


def test_the_groups_own_options_are_documented():
    docs = (ROOT / "docs" / "usage.md").read_text()
    for opt in _long_options(main):
        assert _names(docs, f"nbshare {opt}"), opt
