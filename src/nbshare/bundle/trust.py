"""Which install steps of a cloned share would run code that came with the share.

`nbshare clone` runs nothing that came with the share unless the person agrees (a yes on a
terminal, or `--trust`). Installing a package named in a requirements file from an index is
not such a step: the person gets what the index has under that name, as `pip install NAME`
would give them. Everything else a requirements file can say is: `-e .`, `./pkg`,
`pkg @ file:///...`, a wheel or archive in the share, `--find-links ./wheels` (a wheel named
`ipykernel` there would replace the real one), a nested file outside the share. So is
`pip install -e` of the share itself: it runs `setup.py` or the project's build backend.

The rule is an allow-list: a line is harmless only when `packaging` parses it as a named
requirement with no URL, or when it is an index option; anything nbshare cannot vouch for is
shown and asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

MAX_NESTING = 10
_ARCHIVES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's own rule: "#" at the start or after a space
_NESTED = {"-r": "requirements", "--requirement": "requirements",
           "-c": "constraints", "--constraint": "constraints"}
# Options that only choose where named packages come from, or how they are picked.
_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links"}
_HARMLESS_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--only-binary", "--no-binary",
                     "--trusted-host", "--require-hashes", "--use-feature", "--hash"}


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
    file of their own elsewhere and mean the same."""

    path: Path
    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)


def scan_requirements(path: Path, dest: Path) -> RequirementsScan:
    """Read the requirements file at `path` (inside `dest`) the way pip would, and sort its lines."""
    scan = RequirementsScan(path)
    _scan_into(scan, path, dest, "requirements", depth=0, seen=set())
    return scan


def _scan_into(scan: RequirementsScan, path: Path, dest: Path, kind: str, *, depth: int,
               seen: set[Path]) -> None:
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
            else:
                scan.local.append(line)
        elif names_packages_only(line):
            (scan.requirements if kind == "requirements" else scan.constraints).append(line)
        else:
            scan.local.append(line)


def logical_lines(text: str) -> list[str]:
    """The lines pip acts on: continuations joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\r?\n", " ", text)
    lines = (_COMMENT.sub("", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def _nested_file(line: str) -> tuple[str, str] | None:
    """("-r", "other.txt") for a line naming another requirements or constraints file."""
    match = re.match(r"(--requirement|--constraint|-r|-c)(?:\s*=\s*|\s+|(?<=^-[rc]))(\S+)$", line)
    return (match.group(1), match.group(2)) if match else None


def names_packages_only(line: str) -> bool:
    """True for a requirement that names a package on an index, or an option that only
    chooses an index (an http(s) URL); False for anything that could be the share's own files."""
    words = line.split()
    if words[0].startswith("-"):
        option, _, value = words[0].partition("=")
        value = value or (words[1] if len(words) > 1 else "")
        if option in _INDEX_OPTIONS:
            return value.startswith(("https://", "http://"))
        return option in _HARMLESS_OPTIONS
    return is_named_requirement(line)


def is_named_requirement(line: str) -> bool:
    """"numpy>=1.26; python_version > '3.9' --hash=sha256:..." is; "./pkg", ".", "x.whl",
    "pkg @ file:///..." and URLs are not."""
    spec = re.split(r"\s+-", line, maxsplit=1)[0]  # without per-line options (--hash=...)
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return False
    # pip takes a "name" with an archive's suffix for a file, when one of that name exists.
    return requirement.url is None and not requirement.name.lower().endswith(_ARCHIVES)


def filtered_conda_spec(spec: dict) -> tuple[dict, list[str]]:
    """An environment.yml without what would install the share's own files (its pip section's
    local lines, channels that are folders), and those lines; the spec itself is unchanged."""
    local: list[str] = []
    kept = dict(spec)
    channels = spec.get("channels") or []
    if isinstance(channels, list):
        kept["channels"] = [c for c in channels if _is_remote_channel(c)]
        local += [f"channels: {c}" for c in channels if not _is_remote_channel(c)]
    dependencies = []
    for dep in spec.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            lines = [str(line) for line in dep.get("pip") or []]
            local += [f"pip: {line}" for line in lines if not names_packages_only(line)]
            dependencies.append({**dep, "pip": [line for line in lines if names_packages_only(line)]})
        else:
            dependencies.append(dep)
    kept["dependencies"] = dependencies
    return kept, local


def _is_remote_channel(channel: object) -> bool:
    text = str(channel)
    if "://" in text:
        return text.startswith(("https://", "http://"))
    return re.fullmatch(r"[A-Za-z0-9_.\-]+", text) is not None  # a name: conda-forge, bioconda
