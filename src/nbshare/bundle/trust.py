"""Which install steps of a cloned share would run code that came with the share.

`nbshare clone` runs nothing that came with the share unless the person agrees (a yes on a
terminal, or `--trust`). Installing a package named in a requirements file from an index is
not such a step: the person gets what the index has under that name, as `pip install NAME`
would give them. Everything else a requirements file can say is: `-e .`, `./pkg`,
`pkg @ file:///...`, a wheel or archive in the share, `--find-links ./wheels` (a wheel named
`ipykernel` there would replace the real one), a nested file outside the share. So is
`pip install -e` of the share itself: it runs `setup.py` or the project's build backend.
Nor is installing the recipient's own nbshare when the notebooks import it (own_nbshare.py):
what is installed is chosen by the running client, never read from the share.

The rule is an allow-list: a line is harmless only when `packaging` parses it as a named
requirement with no URL, or when it is made only of options that choose an https index;
anything nbshare cannot vouch for is shown and asked about. pip never reads the share's own
files: it is given a copy, written elsewhere, of the lines accepted here (and, when the
person agreed, of the lines they were shown), so a line pip reads differently from this
scanner cannot slip through.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

MAX_NESTING = 10
_ARCHIVES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's own rule: "#" at the start or after a space
_NESTED = {
    "-r": "requirements",
    "--requirement": "requirements",
    "-c": "constraints",
    "--constraint": "constraints",
}
# Options whose value pip reads as a path relative to the requirements file's folder.
_FILE_RELATIVE = {"-r", "--requirement", "-c", "--constraint", "-f", "--find-links"}
# Options whose value is a path relative to where pip runs.
_CWD_RELATIVE = {"-e", "--editable"}
# Options that only choose where named packages come from: an https URL, nothing else. A
# share's --trusted-host or plain-http index would let anyone on the way pick the packages.
_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links"}
# Options that only choose how named packages are picked (with a value, or a flag).
_CHOICE_OPTIONS = {"--only-binary", "--no-binary", "--use-feature"}
_FLAG_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}
# Every option of a requirements line that takes a value, so that values are read as pip would.
_TAKES_VALUE = _INDEX_OPTIONS | _CHOICE_OPTIONS | set(_NESTED) | _CWD_RELATIVE | {"--hash", "--trusted-host"}
_CONDA_NAME = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.\-]*::)?[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_CONDA_VERSION = re.compile(r"[\sA-Za-z0-9_.*=<>!~,|+\[\]'\"]*")


@dataclass
class LocalStep:
    """An install step that would run (or install) code that came with the share."""

    source: str  # the file that asks for it, as a path in the share
    what: list[str]  # what would run, one line each, for a person to read
    pip_args: list[str] = field(default_factory=list)  # added to the install when agreed to


@dataclass
class RequirementsScan:
    """A requirements file split in two: what names packages, and what nbshare cannot vouch for.

    `requirements` and `constraints` have nested files inlined, so they can be written to a
    file of their own elsewhere and mean the same. `agreed` holds the lines of `local` as
    they read from elsewhere (paths pip takes relative to the file made absolute), by kind."""

    path: Path
    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    agreed: dict[str, list[str]] = field(default_factory=lambda: {"requirements": [], "constraints": []})


def scan_requirements(path: Path, dest: Path) -> RequirementsScan:
    """Read the requirements file at `path` (inside `dest`) the way pip would, and sort its lines."""
    scan = RequirementsScan(path)
    _scan_into(scan, path, dest, "requirements", depth=0, seen=set())
    return scan


def _scan_into(
    scan: RequirementsScan, path: Path, dest: Path, kind: str, *, depth: int, seen: set[Path]
) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    text = resolved.read_text(encoding="utf-8", errors="replace")
    for line in logical_lines(text):
        nested = _nested_file(line)
        if nested is not None:
            option, target = nested
            inner = (path.parent / target).resolve()
            inside = "://" not in target and inner.is_relative_to(dest.resolve()) and inner.is_file()
            if inside and depth < MAX_NESTING:
                _scan_into(scan, inner, dest, _NESTED[option], depth=depth + 1, seen=seen)
                continue
        elif names_packages_only(line):
            (scan.requirements if kind == "requirements" else scan.constraints).append(line)
            continue
        scan.local.append(line)
        scan.agreed[kind].append(read_from_elsewhere(line, path.parent))


def logical_lines(text: str) -> list[str]:
    """The lines pip acts on, by pip's own rules (pip/_internal/req/req_file.py): a line
    ending in "\\" is joined to the next one, except a comment, which never continues; then
    comments and blank lines are dropped."""
    joined: list[str] = []
    pending: list[str] = []
    for line in text.splitlines():
        comment = _COMMENT.match(line) is not None
        if line.endswith("\\") and not comment:
            pending.append(line.strip("\\"))
            continue
        joined.append("".join([*pending, " " + line if comment else line]))
        pending = []
    if pending:
        joined.append("".join(pending))
    lines = (_COMMENT.sub("", line).strip() for line in joined)
    return [line for line in lines if line]


def _nested_file(line: str) -> tuple[str, str] | None:
    """("-r", "other.txt") for a line naming another requirements or constraints file."""
    match = re.match(r"(--requirement|--constraint|-r|-c)(?:\s*=\s*|\s+|(?<=^-[rc]))(\S+)$", line)
    return (match.group(1), match.group(2)) if match else None


def names_packages_only(line: str) -> bool:
    """True for a requirement that names a package on an index, or a line of options that
    only choose an https index; False for anything that could be the share's own files.

    The line is split as pip splits it (`break_args_options`, then shlex for the options)."""
    if line.endswith("\\") or "${" in line:  # would join the next line; pip expands ${VARS}
        return False
    if line.startswith("-"):
        return _harmless_options(line, allowed=_INDEX_OPTIONS | _CHOICE_OPTIONS | _FLAG_OPTIONS)
    return is_named_requirement(line)


def is_named_requirement(line: str) -> bool:
    """ "numpy>=1.26; python_version > '3.9' --hash=sha256:..." is; "./pkg", ".", "x.whl",
    "pkg @ file:///..." and URLs are not, nor a name followed by options other than --hash."""
    spec, options = _split_args_options(line)
    if options and not _harmless_options(options, allowed={"--hash"}):
        return False
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return False
    # pip takes a "name" with an archive's suffix for a file, when one of that name exists.
    return requirement.url is None and not requirement.name.lower().endswith(_ARCHIVES)


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's `break_args_options`: words up to the first that starts with "-" (split on
    spaces only, as pip does), and the rest."""
    words = line.split(" ")
    first = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    return " ".join(words[:first]), " ".join(words[first:])


def _options(text: str) -> list[tuple[str, str | None]] | None:
    """Options as optparse reads them: (option, value or None), None when unsplittable.
    Values may be attached ("--opt=v", "-fv") or the next word; every word after an option
    that takes none is returned as an option of its own, so it is judged too."""
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    takes_value = _TAKES_VALUE
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and "=" in word:
            option, value = word.split("=", 1)
            found.append((option, value))
        elif word in takes_value:
            if i + 1 == len(words):
                return None
            found.append((word, words[i + 1]))
            i += 1
        elif len(word) > 2 and not word.startswith("--") and word[:2] in takes_value:
            found.append((word[:2], word[2:]))
        else:
            found.append((word, None))
        i += 1
    return found


def _harmless_options(text: str, *, allowed: set[str]) -> bool:
    options = _options(text)
    if not options:
        return False
    for option, value in options:
        if option not in allowed or (value is None) != (option in _FLAG_OPTIONS):
            return False
        if option in _INDEX_OPTIONS and not str(value).startswith("https://"):
            return False
    return True


def read_from_elsewhere(line: str, folder: Path) -> str:
    """`line`, from a requirements file in `folder`, written so that it means the same in a
    file elsewhere: the values pip reads relative to the file's folder made absolute (pip
    keeps a --find-links value as is unless it exists there). Paths relative to where pip
    runs stay: pip runs in the share's folder once the person agreed."""
    if not line.startswith("-"):
        return line
    options = _options(line)
    if options is None:
        return line
    words: list[str] = []
    for option, value in options:
        if value is not None and option in _FILE_RELATIVE and "://" not in value:
            path = folder / value
            if option in {"-f", "--find-links"} and not path.exists():
                path = Path(value)
            value = str(path)
        words += [option] if value is None else [option, value]
    return shlex.join(words)


def absolute_paths(line: str, folder: Path) -> list[str]:
    """A pip line as pip arguments, every path in it made absolute against `folder`: a word
    that starts with ".", names something in `folder`, or is the value of a file option."""
    try:
        words = shlex.split(line)
    except ValueError:
        return [line]
    takes_file = _FILE_RELATIVE | _CWD_RELATIVE

    def absolute(word: str, after_option: bool) -> str:
        if "://" in word or not word:
            return word
        if after_option or word.startswith(".") or (folder / word).exists():
            return str((folder / word).resolve())
        return word

    out: list[str] = []
    for i, word in enumerate(words):
        option, equals, value = word.partition("=")
        if word.startswith("--") and equals and option in takes_file:
            out.append(f"{option}={absolute(value, True)}")
        elif word.startswith("-"):
            out.append(word)
        else:
            out.append(absolute(word, i > 0 and words[i - 1] in takes_file))
    return out


@dataclass
class CondaScan:
    """An environment.yml as conda may be given it: `vetted` without anything that would
    install the share's own files, `agreed` with them (paths made absolute), and `local`,
    those lines, for a person to read. Keys conda would act on that nbshare does not know
    are left out of both."""

    vetted: dict[str, Any]
    agreed: dict[str, Any]
    local: list[str]


def scan_conda_spec(spec: dict[str, Any], folder: Path) -> CondaScan:
    """Sort an environment.yml (already parsed) found in `folder`."""
    vetted: dict[str, Any] = {}
    agreed: dict[str, Any] = {}
    local: list[str] = []
    if isinstance(spec.get("name"), str):
        vetted["name"] = agreed["name"] = spec["name"]
    channels = spec.get("channels") or []
    if isinstance(channels, list):
        vetted["channels"] = [c for c in channels if _is_remote_channel(c)]
        agreed["channels"] = [c if _is_remote_channel(c) else _absolute_channel(c, folder) for c in channels]
        local += [f"channels: {c}" for c in channels if not _is_remote_channel(c)]
    vetted["dependencies"], agreed["dependencies"] = [], []
    for dep in spec.get("dependencies") or []:
        if isinstance(dep, dict) and list(dep) == ["pip"]:
            lines = [str(line) for line in dep.get("pip") or []]
            vetted["dependencies"].append({"pip": [line for line in lines if names_packages_only(line)]})
            agreed["dependencies"].append(
                {
                    "pip": [
                        line if names_packages_only(line) else shlex.join(absolute_paths(line, folder))
                        for line in lines
                    ]
                }
            )
            local += [f"pip: {line}" for line in lines if not names_packages_only(line)]
        elif isinstance(dep, str) and is_conda_package(dep):
            vetted["dependencies"].append(dep)
            agreed["dependencies"].append(dep)
        else:  # a package file or URL (its install scripts run), or something unknown
            agreed["dependencies"].append(dep if not isinstance(dep, str) else _absolute_word(dep, folder))
            local.append(f"dependencies: {dep}")
    if "variables" in spec:  # set in the environment: PYTHONPATH could point into the share
        agreed["variables"] = spec["variables"]
        local.append(f"variables: {spec['variables']}")
    return CondaScan(vetted, agreed, local)


def is_conda_package(dep: str) -> bool:
    """ "numpy", "conda-forge::pandas >=2", "scipy ==1.11.2=py310h" are; "./pkg.conda",
    "https://.../x.tar.bz2" and "-e ." are not."""
    name = _CONDA_NAME.match(dep)
    return name is not None and _CONDA_VERSION.fullmatch(dep[name.end() :]) is not None


def _is_remote_channel(channel: object) -> bool:
    text = str(channel)
    if "://" in text:
        return text.startswith("https://")
    return re.fullmatch(r"[A-Za-z0-9_.\-]+", text) is not None and not text.startswith(".")


def _absolute_channel(channel: object, folder: Path) -> object:
    text = str(channel)
    return text if "://" in text else str((folder / text).resolve())


def _absolute_word(word: str, folder: Path) -> str:
    return (
        word
        if "://" in word or not (word.startswith(".") or (folder / word).exists())
        else str((folder / word).resolve())
    )
