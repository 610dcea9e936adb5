"""Passwords and owner tokens: from a hidden prompt, standard input or NBSHARE_PASSWORD,
never from argv."""

from __future__ import annotations

import os
import sys

import click

from .common import fail, options

PASSWORD_ENV = "NBSHARE_PASSWORD"  # noqa: S105 (a variable name)


password_options = options(
    click.option(
        "--password",
        "ask_password",
        is_flag=True,
        help=f"Protect the share with a password, asked for without echo (or taken from {PASSWORD_ENV}).",
    ),
    click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input.",
    ),
)


def read_password(ask: bool, from_stdin: bool, *, env_without_ask: bool) -> str | None:
    """The password the flags and environment ask for, or None.

    `--password-stdin` reads one line; `--password` takes NBSHARE_PASSWORD when set,
    else asks (hidden, twice) on a terminal, else reads one line of standard input.
    With `env_without_ask`, NBSHARE_PASSWORD applies even without `--password`."""
    if ask and from_stdin:
        fail("Choose one of --password and --password-stdin.")
    if from_stdin:
        if sys.stdin.isatty():
            return ask_password()
        return _stdin_password()
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env and (ask or env_without_ask):
        return checked(from_env, f"{PASSWORD_ENV} holds only spaces.")
    if not ask:
        return None
    if sys.stdin.isatty():
        return ask_password()
    return checked(
        sys.stdin.readline().rstrip("\r\n"),
        f"--password found no terminal to ask on and nothing on standard input; "
        f"use --password-stdin or set {PASSWORD_ENV}.",
    )


def ask_password() -> str:
    while True:
        # Hidden, asked twice; click asks again after an empty answer or a mismatch.
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        if password.strip():
            return password
        click.echo("The password cannot be only spaces.", err=True)


def checked(password: str, empty_message: str) -> str:
    if not password.strip():
        fail(empty_message)
    return password


def _stdin_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    return checked(line, "No password on standard input (--password-stdin).")


def share_password(from_stdin: bool) -> str:
    """The password of a protected share being cloned: asked once, not confirmed."""
    if from_stdin:
        return _stdin_password()
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env:
        return checked(from_env, f"{PASSWORD_ENV} holds only spaces.")
    if not sys.stdin.isatty():
        fail(f"This share is protected: give its password with --password-stdin or {PASSWORD_ENV}.")
    return click.prompt("This share is protected. Password", hide_input=True, err=True)


def read_owner_token() -> str:
    # Typed at a terminal, the token is not echoed; piped in, it is read as is.
    return (
        click.prompt("Owner token", hide_input=True, err=True) if sys.stdin.isatty() else sys.stdin.readline()
    ).strip()
