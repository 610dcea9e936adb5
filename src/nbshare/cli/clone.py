"""clone: the recipient's working copy of a share, with its environment rebuilt."""

from __future__ import annotations

import shlex
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..client import ClientError, server_of, share_id_from
from ..errors import NbshareError
from ..text import human_size
from .common import client_for, fail
from .secrets import share_password

if TYPE_CHECKING:
    from ..bundle.environment import EnvReport
    from ..bundle.trust import LocalStep


@click.command()
@click.argument("url")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-env", is_flag=True, help="Only download the files; build no environment.")
@click.option(
    "--check",
    is_flag=True,
    help="Run every notebook in the new environment and report what does not reproduce "
    "(this runs the share's code: asking for it is agreeing to that).",
)
@click.option(
    "--timeout",
    default=600,
    show_default=True,
    type=int,
    metavar="SECONDS",
    help="With --check: longest a single cell may run.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="For a protected share: read the password from the first line of standard input.",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Run the share's own install code (setup.py, build backends, local packages in "
    "requirements files) without asking.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Redo a clone into FOLDER when it holds an earlier (perhaps failed) nbshare clone: "
    "everything in it is replaced. Any other non-empty folder is still refused.",
)
def clone(
    url: str,
    folder: Path | None,
    no_env: bool,
    check: bool,
    timeout: int,
    password_stdin: bool,
    trust: bool,
    force: bool,
) -> None:
    """Download a share into FOLDER and rebuild its environment there.

    The files are checked against the server's SHA-256 before anything is written. The
    environment comes from the share's requirements.txt, pyproject.toml or environment.yml
    (a .venv, with uv when installed; conda for environment.yml when available); what
    cannot be reproduced (apt.txt, postBuild, ...) is said. A protected share's password is
    asked for (hidden), or read from NBSHARE_PASSWORD or --password-stdin.

    Nothing that came with the share runs unless you agree. Installing the packages a
    requirements file names is not running the share's code; installing the share itself
    (setup.py, a build backend, `-e .` or a local path in a requirements file) is: those
    steps are shown and asked about on a terminal, and skipped without one unless --trust
    is given (the clone then ends with status 1 and says what was skipped).

    The notebooks are pointed at the kernel registered in the new environment (their
    metadata.kernelspec), so the printed command opens them there. When they import
    nbshare (for download_link) and the environment lacks it, the nbshare running the
    clone is installed there. A clone that failed or was interrupted is redone with
    --force; only a folder nbshare clone made (it holds .nbshare-clone) is ever replaced.

    \b
    Example:
        nbshare clone https://nb.example.org/n/3kT9x0AbCdEfGhIjKlMnOpQr churn --check
    """
    from ..bundle import workingcopy
    from ..bundle.check import check_notebooks, format_report
    from ..bundle.environment import build_environment
    from ..bundle.incoming import default_folder, fetch, open_share
    from ..bundle.own_nbshare import share_imports_nbshare

    if "/" not in url:
        fail("Give the share's link (https://.../n/ID), so nbshare knows which server to ask.")
    if no_env and check:
        fail("--check runs the notebooks in the environment that --no-env skips; choose one.")
    try:
        share_id = share_id_from(url)
        client = client_for(server_of(url))
        info, grant = open_share(client, share_id, lambda: share_password(password_stdin))
        dest = (folder or Path(default_folder(info))).absolute()
        click.echo(
            f"Cloning {info['title']!r} ({human_size(info['size'], largest='MB')}) into {dest}", err=True
        )
        cloned = fetch(client, info, grant, dest, force=force)
    except ClientError as exc:
        fail(str(exc))
    except NbshareError as exc:
        fail(exc.message)
    if cloned.replaced:
        click.echo(f"Replaced the earlier clone in {dest} (--force).", err=True)
    click.echo(
        f"Wrote {len(cloned.files)} file{'s' if len(cloned.files) != 1 else ''}, checksum verified.", err=True
    )
    if no_env:
        workingcopy.record(dest, complete=True)
        click.echo(f"cd {shlex.quote(str(dest))}")
        return
    echo = partial(click.echo, err=True)
    try:
        report = build_environment(
            dest,
            env_files=cloned.env_files,
            echo=echo,
            consent=partial(_consent, trust=trust, check=check),
            own_nbshare=share_imports_nbshare(dest, cloned.files),
        )
    except NbshareError as exc:
        fail(exc.message + "\nFix that, then redo the clone into the same folder with --force.")
    _use_the_new_kernel(dest, cloned.notebooks, report)
    for name, reason in report.not_reproduced:
        click.echo(f"Not reproduced: {name}: {reason}", err=True)
    ok = True
    if check:
        result = check_notebooks(dest, cloned.notebooks, env=report, timeout=timeout, echo=echo)
        click.echo(format_report(result), err=True)
        ok = result.ok
    click.echo("Open the notebooks with:", err=True)
    click.echo(report.open_command)
    if report.refused:
        click.echo(
            f"Error: skipped {len(report.refused)} install step(s) that would run code that came "
            "with the share (listed above). Read the files, then clone again with --trust --force, or "
            "run those steps yourself.",
            err=True,
        )
    if not ok or report.refused:
        sys.exit(1)


def _use_the_new_kernel(dest: Path, notebooks: list[str], report: EnvReport) -> None:
    """Point the notebooks at the environment's kernel, and say so; the marker keeps what they had."""
    from ..bundle import workingcopy

    display = workingcopy.kernel_display_name(report.kernels_dir, report.kernel_name)
    before = workingcopy.use_kernel(dest, notebooks, report.kernel_name, display)
    workingcopy.record(dest, complete=True, kernel=report.kernel_name, kernelspecs_before=before)
    if before:
        count = f"{len(before)} notebook{'s' if len(before) != 1 else ''}"
        click.echo(
            f"Set the kernel of {count} to {display!r} ({report.kernel_name}), this environment's "
            f"(metadata.kernelspec; what they had is kept in {workingcopy.MARKER}).",
            err=True,
        )


def _consent(steps: list[LocalStep], *, trust: bool, check: bool) -> bool:
    """Whether to run install steps that run the share's own code: --trust, or a yes on a
    terminal. Without a terminal to ask on, no."""
    click.echo("These install steps would run code that came with the share, as you:", err=True)
    for step in steps:
        for line in step.what:
            click.echo(f"  {line}", err=True)
    if trust:
        click.echo("Running them: --trust was given.", err=True)
        return True
    if not sys.stdin.isatty():
        click.echo("Not running them: no terminal to ask on (add --trust to allow them).", err=True)
        return False
    if check:
        click.echo(
            "(--check runs the notebooks afterwards in any case: that runs the share's code too.)", err=True
        )
    return click.confirm("Run them? Answer no to build the environment without them", default=False, err=True)
