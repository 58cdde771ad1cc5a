"""Faults during `greybox kb` edits: kill -9, concurrent editors, a full or read-only disk.

Each edit is a real ``greybox`` process. After any fault the rule file holds exactly
its old or its new content, and the next run leaves no temporary file behind. The
counts are small by default; ``GREYBOX_LONG=1`` runs 100 kill rounds and 20 rounds of
concurrent editors.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from greybox.kb.atomic import temp_files

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("GREYBOX_LONG") == "1"

# a knowledge base large enough that reading, checking and writing it take a while
OLD = "% family\n" + "".join(f"parent(p{i}, p{i + 1}).  % generation {i}\n" for i in range(400))
LEARNED = textwrap.dedent(
    """\
    % learned, weight 0.97
    grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
    % learned, weight 0.91
    ancestor(X, Y) :- parent(X, Y).
    ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
    """
)
NEW = OLD + LEARNED


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "greybox.cli", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _greybox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command(*args), env=_env(), capture_output=True, text=True, timeout=120)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "kb").mkdir()
    rules, learned = tmp_path / "kb" / "family.dl", tmp_path / "learned.dl"
    rules.write_text(OLD)
    learned.write_text(LEARNED)
    return rules, learned


# ---------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_kill_9_at_random_points_leaves_old_or_new_and_the_next_run_cleans_up(files) -> None:
    rules, learned = files
    rounds = 100 if LONG else 10
    rng = random.Random(rounds)
    start = time.monotonic()
    first = _greybox("kb", "add-rule", str(rules), "--from", str(learned))
    duration = time.monotonic() - start
    assert first.returncode == 0 and rules.read_text() == NEW, first.stderr
    outcomes = {"old": 0, "new": 0, "left a temp file": 0}
    for _ in range(rounds):
        rules.write_text(OLD)
        child = subprocess.Popen(_command("kb", "add-rule", str(rules), "--from", str(learned)), env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * duration)  # the first third is mostly start-up
        child.send_signal(signal.SIGKILL)
        child.wait()
        text = rules.read_text()
        assert text in (OLD, NEW), text[-200:]
        outcomes["old" if text == OLD else "new"] += 1
        outcomes["left a temp file"] += bool(temp_files(rules))

        after = _greybox("kb", "add-rule", str(rules), "--from", str(learned))
        assert after.returncode == 0, after.stderr
        assert rules.read_text() == NEW
        assert temp_files(rules) == []
        assert sorted(p.name for p in rules.parent.iterdir()) == [".family.dl.lock", "family.dl"]
    print(f"kill -9 rounds: {rounds}, {outcomes}")


LAUNCHER_KILLED_IN_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    def replace(src, dst, *args, **kwargs):  # the full new file is written: die before the rename
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
    from greybox.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_an_edit_killed_just_before_its_rename_changes_nothing_and_the_next_removes_its_temp(files) -> None:
    rules, learned = files
    killed = subprocess.run([sys.executable, "-c", LAUNCHER_KILLED_IN_RENAME, "kb", "add-rule", str(rules),
                             "--from", str(learned)], env=_env(), capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert rules.read_text() == OLD
    [left] = temp_files(rules)
    assert left.read_text() == NEW  # a full-size hidden copy
    refused = _greybox("kb", "add-rule", str(rules), "parent(p0, p1).")  # even a refused edit cleans up
    assert refused.returncode == 2 and "already in" in refused.stderr
    assert temp_files(rules) == [] and rules.read_text() == OLD


# ---------------------------------------------------------------- concurrent editors


@pytest.mark.slow
def test_concurrent_editors_lose_no_update(files) -> None:
    rules, _ = files
    rounds, editors = (20, 8) if LONG else (2, 4)
    for r in range(rounds):
        rules.write_text(OLD)
        wanted = [f"likes(p{k}, p{r})." for k in range(editors)]
        children = [subprocess.Popen(_command("kb", "add-rule", str(rules), rule), env=_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for rule in wanted]
        outputs = [c.communicate(timeout=120) for c in children]
        final = rules.read_text()
        assert final.startswith(OLD)
        added = final[len(OLD):].splitlines()
        for rule, child, (out, err) in zip(wanted, children, outputs):
            if child.returncode == 0:
                assert "added statement" in out and rule in added, (rule, out, err)
            else:  # a failure must say so, and leave nothing half-done
                assert child.returncode == 2 and err.startswith("error: ") and rule not in added, (rule, err)
        assert sorted(added) == sorted(r for r, c in zip(wanted, children) if c.returncode == 0)
        # under the lock nobody has a reason to fail
        assert [c.returncode for c in children] == [0] * editors, outputs
        assert temp_files(rules) == []


# ---------------------------------------------------------------- a full or read-only disk


def _run_quietly(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def small_disk(tmp_path: Path):
    """A folder on a file system of about 64 KiB: a tmpfs, else a loop-mounted ext2 image."""
    where = tmp_path / "disk"
    where.mkdir()
    reasons = []
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root and `mount`")
    if _run_quietly("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)):
        kind = "tmpfs"
    else:
        reasons.append("mount -t tmpfs failed")
        image = tmp_path / "disk.img"
        image.write_bytes(b"\0" * 256 * 1024)
        if shutil.which("mkfs.ext2") and _run_quietly("mkfs.ext2", "-q", "-F", str(image)) \
                and _run_quietly("mount", "-o", "loop", str(image), str(where)):
            kind = "loop"
        else:
            pytest.skip("no small file system to fill: " + "; ".join(reasons + ["no loop device mount"]))
    try:
        yield where, kind
    finally:
        if not _run_quietly("umount", str(where)):
            _run_quietly("umount", "-l", str(where))


def _fill(folder: Path) -> Path:
    """Write a file until the disk is full."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (4096, 512, 1):
            try:
                while True:
                    out.write(b"x" * size)
            except OSError:
                continue
    return filler


def test_a_full_disk_fails_in_one_line_and_changes_nothing(small_disk, files) -> None:
    where, _ = small_disk
    _, learned = files
    rules = where / "family.dl"
    rules.write_text("parent(ann, bob).\n")
    filler = _fill(where)
    before = _sha(rules)
    full = _greybox("kb", "add-rule", str(rules), "--from", str(learned))
    assert full.returncode == 2, full.stderr
    lines = full.stderr.splitlines()
    assert lines[0] == f"error: {rules}: cannot write the edited file: No space left on device", full.stderr
    assert lines[1].startswith("hint: free some space")
    assert "Traceback" not in full.stderr
    assert _sha(rules) == before and temp_files(rules) == []

    filler.unlink()
    again = _greybox("kb", "add-rule", str(rules), "--from", str(learned))
    assert again.returncode == 0, again.stderr
    assert rules.read_text() == "parent(ann, bob).\n" + LEARNED


def test_a_read_only_file_system_is_refused_in_one_line(small_disk) -> None:
    where, _ = small_disk
    rules = where / "family.dl"
    rules.write_text("parent(ann, bob).\n")
    assert _run_quietly("mount", "-o", "remount,ro", str(where))
    done = _greybox("kb", "add-rule", str(rules), "parent(bob, cid).")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == f"error: {rules}: the file is on a read-only file system, so it was not edited", done.stderr
    assert lines[1].startswith("hint: remount that file system read-write")
    assert "Traceback" not in done.stderr
    assert rules.read_text() == "parent(ann, bob).\n"
