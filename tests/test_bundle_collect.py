"""What `nbshare publish` would upload for the paths named, and the environment files in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbshare.bundle.archive import Limits, write_zip
from nbshare.bundle.collect import BundleError, BundleFile, collect
from nbshare.bundle.envfiles import find_env_files
from nbshare.errors import NbshareError

LIMITS = Limits()


def files(root: Path, spec: dict[str, str]) -> None:
    for name, text in spec.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def paths(bundle: list[BundleFile]) -> list[str]:
    return [file.path for file in bundle]


@pytest.fixture
def analysis(tmp_path) -> Path:
    root = tmp_path / "analysis"
    files(root, {"clean.ipynb": "{}", "data/x.csv": "1,2", "helpers.py": "X = 1"})
    return root


def test_a_folder_is_relative_to_itself(analysis):
    bundle = collect([analysis], limits=LIMITS)
    assert paths(bundle) == ["clean.ipynb", "data/x.csv", "helpers.py"]
    assert bundle[1].size == 3 and bundle[1].read() == b"1,2" and bundle[1].source == analysis / "data/x.csv"


def test_a_single_file(analysis):
    assert paths(collect([analysis / "clean.ipynb"], limits=LIMITS)) == ["clean.ipynb"]


def test_several_arguments_are_relative_to_their_common_parent(analysis):
    bundle = collect([analysis / "clean.ipynb", analysis / "data"], limits=LIMITS)
    assert paths(bundle) == ["clean.ipynb", "data/x.csv"]


def test_relative_arguments(analysis, monkeypatch):
    monkeypatch.chdir(analysis)
    assert paths(collect([Path(".")], limits=LIMITS)) == ["clean.ipynb", "data/x.csv", "helpers.py"]
    assert paths(collect([Path("clean.ipynb"), Path("data")], limits=LIMITS)) == ["clean.ipynb", "data/x.csv"]


def test_tool_folders_caches_and_environments_are_left_out(analysis):
    files(
        analysis,
        {
            ".git/config": "",
            ".git/objects/ab": "",
            ".hg/store": "",
            ".svn/entries": "",
            ".venv/bin/python": "",
            "venv/lib/x.py": "",
            "env/pyvenv.cfg": "home = /usr",
            "env/lib/site.py": "",
            "py311/pyvenv.cfg": "",
            "condaenv/conda-meta/history": "",
            "__pycache__/helpers.cpython-311.pyc": "",
            "stray.pyc": "",
            ".ipynb_checkpoints/clean-checkpoint.ipynb": "",
            ".mypy_cache/x": "",
            ".pytest_cache/x": "",
            "node_modules/x/index.js": "",
            ".DS_Store": "",
            "data/.DS_Store": "",
            "sub/.git": "gitdir: ../.git/modules/sub",
            "envs/env/notes.txt": "an env/ folder that is not a virtualenv is data",
        },
    )
    assert paths(collect([analysis], limits=LIMITS)) == [
        "clean.ipynb",
        "data/x.csv",
        "envs/env/notes.txt",
        "helpers.py",
    ]


def test_gitignore_files_are_honoured_deepest_first(analysis):
    files(
        analysis,
        {
            ".gitignore": "*.log\nsecret/\n/top-only.txt\n",
            "a.log": "",
            "secret/key": "",
            "top-only.txt": "",
            "data/top-only.txt": "",
            "data/.gitignore": "!keep.log\nraw/\n",
            "data/keep.log": "",
            "data/other.log": "",
            "data/raw/huge.csv": "",
            "raw/kept.csv": "",
        },
    )
    assert paths(collect([analysis], limits=LIMITS)) == [
        ".gitignore",
        "clean.ipynb",
        "data/.gitignore",
        "data/keep.log",
        "data/top-only.txt",
        "data/x.csv",
        "helpers.py",
        "raw/kept.csv",
    ]


def test_gitignore_does_not_drop_a_file_named_on_the_command_line(analysis):
    files(analysis, {".gitignore": "*.csv\n"})
    assert "data/x.csv" not in paths(collect([analysis], limits=LIMITS))
    named = collect([analysis / "clean.ipynb", analysis / "data/x.csv"], limits=LIMITS)
    assert paths(named) == ["clean.ipynb", "data/x.csv"]


def test_excludes_use_gitignore_syntax(analysis):
    files(analysis, {"data/y.parquet": "", "out/fig.png": "", "deep/out/keep.png": ""})
    bundle = collect([analysis], excludes=["*.csv", "/out/", "*.parquet"], limits=LIMITS)
    assert paths(bundle) == ["clean.ipynb", "deep/out/keep.png", "helpers.py"]


def test_symlinks_in_a_walked_folder(analysis, tmp_path):
    files(tmp_path, {"outside/secret.txt": "no"})
    (analysis / "out_file").symlink_to(tmp_path / "outside/secret.txt")
    (analysis / "out_dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (analysis / "dangling").symlink_to(analysis / "missing")
    (analysis / "loop").symlink_to(analysis, target_is_directory=True)
    (analysis / "data/up").symlink_to(analysis / "data", target_is_directory=True)
    (analysis / "alias.csv").symlink_to(analysis / "data/x.csv")
    (analysis / "shared").symlink_to(analysis / "data", target_is_directory=True)
    bundle = collect([analysis], limits=LIMITS)
    assert paths(bundle) == ["alias.csv", "clean.ipynb", "data/x.csv", "helpers.py", "shared/x.csv"]
    assert bundle[0].read() == b"1,2"


def test_a_symlink_named_on_the_command_line_is_read(analysis, tmp_path):
    files(tmp_path, {"elsewhere/real.csv": "9"})
    (analysis / "link.csv").symlink_to(tmp_path / "elsewhere/real.csv")
    bundle = collect([analysis / "clean.ipynb", analysis / "link.csv"], limits=LIMITS)
    assert paths(bundle) == ["clean.ipynb", "link.csv"] and bundle[1].read() == b"9"


def test_pipes_in_a_walked_folder_are_skipped(analysis):
    os.mkfifo(analysis / "pipe")
    assert "pipe" not in paths(collect([analysis], limits=LIMITS))


def test_a_single_zip_is_read(tmp_path):
    archive = tmp_path / "analysis.zip"
    archive.write_bytes(
        write_zip(
            [
                ("analysis/nb.ipynb", b"{}"),
                ("analysis/__pycache__/m.pyc", b""),
                ("analysis/venv2/pyvenv.cfg", b""),
                ("analysis/venv2/lib/x.py", b""),
                ("analysis/out.csv", b"1"),
            ]
        )
    )
    bundle = collect([archive], excludes=["*.csv"], limits=LIMITS)
    assert paths(bundle) == ["nb.ipynb"]
    assert bundle[0].read() == b"{}" and bundle[0].source is None and bundle[0].size == 2


def test_a_zip_among_other_files_is_just_a_file(analysis):
    (analysis / "old.zip").write_bytes(write_zip([("x.txt", b"x")]))
    bundle = collect([analysis / "clean.ipynb", analysis / "old.zip"], limits=LIMITS)
    assert paths(bundle) == ["clean.ipynb", "old.zip"]


# ---- refusals


def refused(call, code: str, status: int = 400) -> NbshareError:
    with pytest.raises(NbshareError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert caught.value.status == status
    return caught.value


def test_a_missing_path(analysis):
    error = refused(lambda: collect([analysis / "nope.ipynb"], limits=LIMITS), "bundle_missing_path")
    assert "nope.ipynb does not exist" in error.message


def test_nothing_left(analysis):
    refused(lambda: collect([analysis], excludes=["*"], limits=LIMITS), "bundle_empty")
    refused(lambda: collect([], limits=LIMITS), "bundle_invalid")


def test_the_same_bundle_path_twice(analysis):
    error = refused(lambda: collect([analysis, analysis / "clean.ipynb"], limits=LIMITS), "bundle_duplicate")
    assert "analysis/clean.ipynb" in error.message


def test_names_that_collide_on_other_computers(analysis):
    files(analysis, {"Clean.ipynb": "{}"})
    refused(lambda: collect([analysis], limits=LIMITS), "archive_duplicate")


def test_names_the_server_would_refuse(analysis):
    files(analysis, {"back\\slash.txt": ""})
    refused(lambda: collect([analysis], limits=LIMITS), "archive_unsafe_path")


def test_one_file_too_large(analysis):
    (analysis / "big.bin").write_bytes(bytes(3000))
    limits = Limits(max_file_bytes=2048)
    error = refused(lambda: collect([analysis], limits=limits), "bundle_too_large", 413)
    assert "big.bin is 2.9 KB" in error.message and "2 KB" in error.message and "--exclude" in error.message


def test_too_large_together(analysis):
    files(analysis, {f"part{i}.csv": "x" * 1000 for i in range(5)})
    error = refused(lambda: collect([analysis], limits=Limits(max_total_bytes=4096)), "bundle_too_large", 413)
    assert "4.9 KB" in error.message and "4 KB" in error.message


def test_too_many_files(analysis):
    error = refused(lambda: collect([analysis], limits=Limits(max_files=2)), "bundle_too_many_files", 413)
    assert "2" in error.message


def test_a_file_that_changes_before_upload(analysis):
    [file] = collect([analysis / "clean.ipynb"], limits=LIMITS)
    (analysis / "clean.ipynb").write_text('{"cells": []}')
    with pytest.raises(BundleError):
        file.read()


# ---- environment files, as repo2docker finds them


def kinds(bundle_paths: list[str]) -> list[tuple[str, str]]:
    return [(env.path, env.kind) for env in find_env_files(bundle_paths)]


def test_env_files_at_the_top():
    found = find_env_files(["nb.ipynb", "apt.txt", "requirements.txt", "runtime.txt", "sub/setup.py"])
    assert [(env.path, env.kind) for env in found] == [
        ("requirements.txt", "requirements.txt"),
        ("runtime.txt", "runtime.txt"),
        ("apt.txt", "apt.txt"),
    ]
    assert found[0].description == "pip requirements"
    assert "not reproduced by nbshare clone" in found[2].description


def test_a_binder_folder_hides_the_top():
    bundle = [
        "requirements.txt",
        "binder/environment.yml",
        "binder/postBuild",
        "binder/x/apt.txt",
        "nb.ipynb",
    ]
    assert kinds(bundle) == [("binder/environment.yml", "environment.yml"), ("binder/postBuild", "postBuild")]
    assert kinds(["requirements.txt", ".binder/requirements.txt"]) == [
        (".binder/requirements.txt", "requirements.txt")
    ]


def test_environment_yaml_is_not_what_repo2docker_reads():
    assert kinds(["environment.yaml", "Pipfile", "Pipfile.lock"]) == [
        ("Pipfile.lock", "Pipfile.lock"),
        ("Pipfile", "Pipfile"),
    ]


def test_binder_and_dotbinder_together_are_refused():
    with pytest.raises(NbshareError) as caught:
        find_env_files(["binder/requirements.txt", ".binder/apt.txt"])
    assert caught.value.code == "bundle_binder_conflict" and caught.value.status == 400
