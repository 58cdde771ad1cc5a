"""Edits that cannot be written are refused in one located line; links, locks and leftovers."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from greybox.cli import main
from greybox.errors import ConfigError, KnowledgeBaseError
from greybox.kb import atomic
from greybox.kb.atomic import lock_path, temp_files
from greybox.kb.edit import add_rule, remove_rule
from greybox.kb.merge import merge_rules

BASE = "parent(ann, bob).\nparent(bob, cid).\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    f = tmp_path / "rules.dl"
    f.write_text(BASE)
    return f


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_located_error(err: str, name: str, *phrases: str) -> None:
    """The first stderr line names the file and the problem; a hint follows; no traceback."""
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {name}: "), err
    for phrase in phrases:
        assert phrase in lines[0], err
    assert lines[1].startswith("hint: "), err
    assert "Traceback" not in err


# ---------------------------------------------------------------- read-only files and folders


@pytest.mark.parametrize("command", [
    ["add-rule", "{f}", "gp(X, Z) :- parent(X, Y), parent(Y, Z)."],
    ["remove-rule", "{f}", "1"],
    ["add-rule", "{f}", "--from", "{src}"],
])
def test_a_read_only_file_is_refused_by_its_mode_bits(rules: Path, capsys, command: list[str]) -> None:
    src = rules.with_name("new.dl")
    src.write_text("gp(X, Z) :- parent(X, Y), parent(Y, Z).\n")
    rules.chmod(0o444)  # the administrator could write it anyway: the bits are what count
    before = _sha(rules)
    args = [a.format(f=rules, src=src) for a in command]
    code, out, err = _cli(capsys, "kb", *args)
    assert code == 2 and out == ""
    _assert_one_located_error(err, str(rules), "read-only (mode -r--r--r--)")
    assert f"chmod u+w {rules}" in err.splitlines()[1]
    assert _sha(rules) == before and rules.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in rules.parent.iterdir()) == ["new.dl", "rules.dl"]  # not even a lock file


def test_a_read_only_folder_is_refused(rules: Path, capsys) -> None:
    rules.parent.chmod(0o555)
    try:
        before = _sha(rules)
        code, _, err = _cli(capsys, "kb", "add-rule", str(rules), "q(a).")
        with pytest.raises(KnowledgeBaseError, match=r"folder .* is read-only \(mode dr-xr-xr-x\)"):
            add_rule(rules, "q(a).")
    finally:
        rules.parent.chmod(0o755)
    assert code == 2
    _assert_one_located_error(err, str(rules), "read-only (mode dr-xr-xr-x)")
    assert f"chmod u+w {rules.parent}" in err
    assert _sha(rules) == before
    assert [p.name for p in rules.parent.iterdir()] == ["rules.dl"]


def test_a_read_only_file_behind_a_link_names_the_real_file(tmp_path: Path) -> None:
    real = tmp_path / "real.dl"
    real.write_text(BASE)
    real.chmod(0o400)
    (tmp_path / "link.dl").symlink_to("real.dl")
    with pytest.raises(KnowledgeBaseError, match=r"link\.dl: the file \(a link to .*real\.dl\) is read-only") as info:
        add_rule(tmp_path / "link.dl", "q(a).")
    assert info.value.hint == f"if it should change, make it writable first: chmod u+w {real}"


@pytest.mark.parametrize("code, phrase, hint", [
    (errno.ENOSPC, "No space left on device", "free some space"),
    (errno.EACCES, "Permission denied", "make that folder writable"),
    (errno.EROFS, "Read-only file system", "remount that file system read-write"),
    (errno.EIO, "Input/output error", "check the disk"),
])
def test_a_failed_write_is_one_located_error(rules: Path, monkeypatch, capsys, code, phrase, hint) -> None:
    def broken_replace(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    before = _sha(rules)
    status, _, err = _cli(capsys, "kb", "add-rule", str(rules), "q(a).")
    assert status == 2
    _assert_one_located_error(err, str(rules), f"cannot write the edited file: {phrase}")
    assert hint in err.splitlines()[1]
    assert err.splitlines()[2] == f"{rules} was not changed."
    assert _sha(rules) == before
    assert temp_files(rules) == []


# ---------------------------------------------------------------- links


def test_every_edit_follows_a_chain_of_links(tmp_path: Path) -> None:
    real = tmp_path / "kb" / "family.dl"
    real.parent.mkdir()
    real.write_text(BASE)
    (tmp_path / "mid.dl").symlink_to(real)
    link = tmp_path / "link.dl"
    link.symlink_to("mid.dl")
    src = tmp_path / "new.dl"
    src.write_text("% learned\ngp(X, Z) :- parent(X, Y), parent(Y, Z).\n")

    add_rule(link, "person(ann).")
    merge_rules(link, src)
    remove_rule(link, "person(ann).")
    assert real.read_text() == BASE + "% learned\ngp(X, Z) :- parent(X, Y), parent(Y, Z).\n"
    assert link.is_symlink() and (tmp_path / "mid.dl").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "link.dl", "mid.dl", "new.dl"]
    assert sorted(p.name for p in real.parent.iterdir()) == [".family.dl.lock", "family.dl"]


def test_a_dangling_link_is_a_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "link.dl").symlink_to("gone.dl")
    with pytest.raises(ConfigError, match=r"file not found: .*link\.dl"):
        add_rule(tmp_path / "link.dl", "q(a).")
    assert [p.name for p in tmp_path.iterdir()] == ["link.dl"]


# ---------------------------------------------------------------- leftovers and the lock


def test_the_next_edit_removes_what_a_killed_edit_left(rules: Path) -> None:
    half = rules.with_name(".rules.dl.x1y2z3_4.tmp")  # a full-size copy a killed edit left
    half.write_text(BASE + "q(a).\n")
    other = rules.with_name(".other.dl.x1y2z3_4.tmp")  # another file's: not this edit's business
    other.write_text("r(a).\n")
    with pytest.raises(KnowledgeBaseError, match="already in"):  # even a refused edit cleans up
        add_rule(rules, "parent(ann, bob).")
    assert not half.exists() and other.exists()
    half.write_text("q(a")
    add_rule(rules, "q(a).")
    assert rules.read_text() == BASE + "q(a).\n"
    assert sorted(p.name for p in rules.parent.iterdir()) == [".other.dl.x1y2z3_4.tmp", ".rules.dl.lock", "rules.dl"]


def test_an_edit_waits_for_the_lock_and_then_reads_the_new_content(rules: Path) -> None:
    results: list[object] = []

    def edit() -> None:
        try:
            results.append(add_rule(rules, "q(b)."))
        except Exception as err:  # reported through ``results``, checked below
            results.append(err)

    fd = os.open(lock_path(rules), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a separate open file: it excludes this process's other opens
        worker = threading.Thread(target=edit)
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive() and rules.read_text() == BASE  # waiting, nothing written
        atomic.atomic_write_text(rules, BASE + "q(a).\n")  # what the holder of the lock writes
    finally:
        os.close(fd)
    worker.join(timeout=30)
    assert [type(r).__name__ for r in results] == ["EditResult"], results
    assert rules.read_text() == BASE + "q(a).\nq(b).\n"


def test_a_lock_file_that_is_a_link_is_not_followed(rules: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    lock_path(rules).symlink_to(elsewhere)
    with pytest.raises(KnowledgeBaseError, match=r"rules\.dl: cannot write the edited file: Too many levels"):
        add_rule(rules, "q(a).")
    assert not elsewhere.exists() and rules.read_text() == BASE
    with pytest.raises(KnowledgeBaseError) as info:
        add_rule(rules, "q(a).")
    assert info.value.hint.endswith("is a symbolic link, which an edit never follows: delete it")


def test_a_file_reached_through_a_linked_folder_is_not_called_a_link(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "rules.dl"
    real.write_text(BASE)
    real.chmod(0o444)
    (tmp_path / "kb").symlink_to("store")
    name = str(tmp_path / "kb" / "rules.dl")
    with pytest.raises(KnowledgeBaseError, match=r"rules\.dl: the file is read-only") as info:
        add_rule(name, "q(a).")
    assert info.value.hint.endswith(f"chmod u+w {name}")
