"""atomic_write_text: a reader sees the old or the new content, never a part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from greybox.kb.atomic import atomic_write_bytes, atomic_write_text

# Each version is "version K\n" followed by SIZE bytes of one letter: a torn write shows.
SIZE = 4_000_000

CHILD = textwrap.dedent(
    """
    import importlib.util, sys
    # load the module file alone: the child starts fast, without importing the package
    spec = importlib.util.spec_from_file_location("atomic", sys.argv[3])
    atomic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(atomic)
    atomic_write_text = atomic.atomic_write_text
    target, size = sys.argv[1], int(sys.argv[2])
    k = 1
    while True:
        letter = "abcdefghij"[k % 10]
        atomic_write_text(target, f"version {k}\\n" + letter * size)
        if k == 1:
            print("ready", flush=True)
        k += 1
    """
)


def _is_complete_version(data: bytes) -> bool:
    head, _, body = data.partition(b"\n")
    if not head.startswith(b"version "):
        return False
    k = int(head.split()[1])
    letter = b"abcdefghij"[k % 10 : k % 10 + 1]
    return body == letter * SIZE


def test_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "k.dl"
    atomic_write_text(target, "p(a).\n")
    atomic_write_text(target, "p(b).\n")
    assert target.read_text() == "p(b).\n"
    assert [p.name for p in tmp_path.iterdir()] == ["k.dl"]


def test_keeps_the_permission_bits_of_the_replaced_file(tmp_path: Path) -> None:
    target = tmp_path / "k.dl"
    target.write_text("p(a).\n")
    target.chmod(0o640)
    atomic_write_text(target, "p(b).\n")
    assert target.stat().st_mode & 0o777 == 0o640


def test_failed_write_removes_temp_file_and_keeps_target(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "k.dl"
    target.write_text("old.\n")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_bytes(target, b"new.\n")
    assert target.read_text() == "old.\n"
    assert [p.name for p in tmp_path.iterdir()] == ["k.dl"]


def test_a_link_stays_a_link_and_its_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "store" / "k.dl"
    real.parent.mkdir()
    real.write_text("p(a).\n")
    real.chmod(0o640)
    link = tmp_path / "k.dl"
    link.symlink_to(Path("store") / "k.dl")
    atomic_write_text(link, "p(b).\n")
    assert link.is_symlink() and real.read_text() == "p(b).\n"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["k.dl"]  # the temp file was beside the target


def test_missing_folder_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "no" / "k.dl", "x")
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_save_leaves_old_or_new_content(tmp_path: Path) -> None:
    target = tmp_path / "big.dl"
    target.write_text("version 0\n" + "a" * SIZE)
    module_file = atomic_write_text.__code__.co_filename
    seen_versions = set()
    delays = (0.0, 0.013, 0.031, 0.057, 0.11, 0.005, 0.021, 0.043, 0.077, 0.002, 0.017, 0.039)
    for delay in delays:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), str(SIZE), module_file],
                                 stdout=subprocess.PIPE)
        try:
            assert child.stdout.readline() == b"ready\n"
            time.sleep(delay)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        data = target.read_bytes()
        assert _is_complete_version(data), data[:40]
        seen_versions.add(data.split(b"\n", 1)[0])
        killed_mid_save = any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
        if killed_mid_save and len(seen_versions) > 1:
            break
    assert len(seen_versions) > 1  # the child really was replacing the file between kills
    assert killed_mid_save  # and at least one kill hit it between creating and renaming the temp file

    # whatever temporary files the kills left behind, a later load reads only real files
    from greybox.kb.knowledge_base import KnowledgeBase

    (tmp_path / ".rules.dl.half.tmp").write_text("p(X :- broken")  # a torn temp file
    atomic_write_text(target, "parent(ann, bob).\n")
    kb = KnowledgeBase.load(tmp_path)
    assert kb.files == (str(target),)
    assert len(kb.program) == 1
    atomic_write_text(target, "parent(bob, cid).\n")
    assert target.read_text() == "parent(bob, cid).\n"
