"""The client's settings: `nbshare config`, and one resolution (flag > NBSHARE_* variable >
config file > default) that the CLI and the Python API both follow, against a real server."""

from __future__ import annotations

import json
import sys

import pytest

from api_helpers import config_file, nbshare_env, run_api
from cli_helpers import NOTEBOOK, Cli, Seen, assert_one_error_line
from helpers import free_port
from nbshare.client import DEFAULT_SERVER
from nbshare.config import ConfigError, read_file, resolve


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "xdg", Seen())


def _show(cli: Cli, **env: str) -> dict:
    return json.loads(cli.ok("config", "show", "--json", env=env).stdout)["settings"]


def test_set_show_unset(cli):
    assert cli.ok("config", "path").stdout.strip() == str(cli.config_home / "nbshare" / "config.toml")
    shown = _show(cli)
    assert shown["server"] == {"value": DEFAULT_SERVER, "source": "default"}
    assert shown["password"] == {"value": False, "source": "default"}
    assert (
        "Set server = https://nb.example.org"
        in cli.ok("config", "set", "server", "https://nb.example.org/").stdout
    )
    cli.ok("config", "set", "expires", "7d")
    cli.ok("config", "set", "max_views", "10")
    cli.ok("config", "set", "password", "yes")
    shown = _show(cli)
    assert shown["server"] == {"value": "https://nb.example.org", "source": "file"}
    assert shown["expires"] == {"value": "7d", "source": "file"}
    assert shown["max_views"] == {"value": 10, "source": "file"}
    assert shown["password"] == {"value": True, "source": "file"}
    text = cli.ok("config", "show").stdout
    assert str(cli.config_home) in text.splitlines()[0]
    assert "server = https://nb.example.org  (file, NBSHARE_SERVER)" in text
    # The variable wins over the file, and show says so.
    assert _show(cli, NBSHARE_MAX_VIEWS="3")["max_views"] == {"value": 3, "source": "env"}
    assert "Removed expires" in cli.ok("config", "unset", "expires").stdout
    assert "was not set" in cli.ok("config", "unset", "expires").stdout
    assert _show(cli)["expires"] == {"value": None, "source": "default"}
    saved = (cli.config_home / "nbshare" / "config.toml").read_text()
    assert 'server = "https://nb.example.org"' in saved and "max_views = 10" in saved


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("server", "nb.example.org", "is not an http:// or https:// URL"),
        ("expires", "soon", "Cannot read the expiry 'soon'"),
        ("max_views", "0", "is not a whole number of views"),
        ("password", "maybe", "is not true or false"),
        ("colour", "blue", "Unknown setting 'colour'"),
    ],
)
def test_set_checks_the_value(cli, key, value, fragment):
    assert_one_error_line(cli("config", "set", key, value), fragment)
    assert not (cli.config_home / "nbshare" / "config.toml").exists()


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("max_views = 'lots'\n", ("config.toml, key 'max_views'", "'lots' is not a whole number")),
        ("server = [1]\n", ("key 'server'", "must be a URL")),
        ("colour = 'blue'\n", ("unknown key 'colour'",)),
        ("server = \n", ("Cannot read the config file", "config.toml")),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_file_and_key(cli, tmp_path, content, fragments):
    path = cli.config_home / "nbshare" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    for args in (("config", "show"), ("publish", NOTEBOOK, "--json")):
        line = assert_one_error_line(cli(*args), *fragments)
        assert str(path) in line
    # The Python API raises the same message, typed.
    env = nbshare_env(cli.data_home.parent / "api")
    target = config_file(cli.data_home.parent / "api")
    target.parent.mkdir(parents=True)
    target.write_text(content)
    result = run_api(sys.executable, f"return nbshare.publish({str(NOTEBOOK)!r})", env)
    assert result["error"] == "ConfigError" and "NbshareError" in result["bases"]
    assert all(f in result["message"] for f in fragments[1:]) and str(target) in result["message"]


def test_a_bad_variable_names_it(cli):
    assert_one_error_line(cli("config", "show", env={"NBSHARE_MAX_VIEWS": "-1"}), "NBSHARE_MAX_VIEWS")


def test_resolve_order(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('server = "http://file.test"\nexpires = "1h"\n')
    env = {"NBSHARE_SERVER": "http://env.test"}
    got = resolve(environ=env, path=path)
    assert (got.server, got.sources["server"]) == ("http://env.test", "env")
    assert (got.expires, got.sources["expires"]) == ("1h", "file")
    assert (got.max_views, got.sources["max_views"]) == (None, "default")
    got = resolve(server="http://flag.test", expires="2d", environ=env, path=path)
    assert (got.server, got.sources["server"], got.expires) == ("http://flag.test", "flag", "2d")
    assert resolve(environ={}, path=tmp_path / "none.toml").server == DEFAULT_SERVER
    assert read_file(tmp_path / "none.toml") == {}
    path.write_text("max_views = true\n")
    with pytest.raises(ConfigError, match="key 'max_views'"):
        resolve(environ={}, path=path)


def test_the_cli_publishes_where_the_settings_say(server, cli):
    """The file names the server; a variable overrides it; a flag overrides both."""
    cli.ok("config", "set", "server", server.url)
    cli.ok("config", "set", "max_views", "3")
    cli.ok("config", "set", "expires", "1d")
    r = cli.ok("publish", NOTEBOOK, "--json", "--new")
    answer = json.loads(r.stdout)
    assert answer["url"].startswith(server.url) and answer["max_views"] == 3 and answer["expires_at"]
    down = f"http://127.0.0.1:{free_port()}"
    r = cli("publish", NOTEBOOK, "--json", "--new", env={"NBSHARE_SERVER": down})
    assert_one_error_line(r, f"Cannot reach the nbshare server at {down}")
    r = cli.ok(
        "publish", NOTEBOOK, "--json", "--new", "--server", server.url, "--max-views", "5",
        env={"NBSHARE_SERVER": down, "NBSHARE_MAX_VIEWS": "4"},
    )  # fmt: skip
    assert json.loads(r.stdout)["max_views"] == 5
    r = cli.ok("publish", NOTEBOOK, "--json", "--new", env={"NBSHARE_MAX_VIEWS": "4"})
    assert json.loads(r.stdout)["max_views"] == 4
    # An update applies only the flags given, not the defaults meant for new shares.
    r = cli.ok("publish", NOTEBOOK, "--json", "--update")
    updated = json.loads(r.stdout)
    assert updated["updated"] and updated["max_views"] == 4


def test_the_config_file_can_ask_for_a_password(server, cli):
    cli.ok("config", "set", "server", server.url)
    cli.ok("config", "set", "password", "true")
    answer = json.loads(cli.ok("publish", NOTEBOOK, "--json", "--new", input="s3cret pass\n").stdout)
    assert answer["protected"] is True
    answer = json.loads(cli.ok("publish", NOTEBOOK, "--json", "--new", "--no-password").stdout)
    assert answer["protected"] is False


def test_the_api_follows_the_same_order(server, tmp_path):
    home = tmp_path / "home"
    env = nbshare_env(home)
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text(f'server = "{server.url}"\nmax_views = 7\n')
    body = f"return nbshare.publish({str(NOTEBOOK)!r}, new=True)"
    share = run_api(sys.executable, body, env)["ok"]
    assert share["server"] == server.url and share["max_views"] == 7
    down = f"http://127.0.0.1:{free_port()}"
    result = run_api(sys.executable, body, {**env, "NBSHARE_SERVER": down, "NBSHARE_MAX_VIEWS": "2"})
    assert result["error"] == "ServerUnreachable"
    assert result["message"] == f"Cannot reach the nbshare server at {down} (is it running?)."
    body = f"return nbshare.publish({str(NOTEBOOK)!r}, server={server.url!r}, max_views=9, new=True)"
    share = run_api(sys.executable, body, {**env, "NBSHARE_SERVER": down, "NBSHARE_MAX_VIEWS": "2"})["ok"]
    assert share["server"] == server.url and share["max_views"] == 9
