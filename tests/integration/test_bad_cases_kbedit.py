"""Knowledge-base edits that lost an update: an edit through a symbolic link, two edits at once.

* ``greybox kb add-rule link.dl RULE`` on a link to ``real/rules.dl`` must change
  ``real/rules.dl`` and keep the link a link (it used to replace the link by a
  regular file and leave the real file as it was, while reporting success).
* Two ``greybox kb add-rule`` runs on one file, the first held up just before it
  renames its new file into place, must both end with their statement in the file
  (the second used to write its statement, then the first renamed its older copy
  over it: both said "added", one statement was gone).

The runs are real processes. A small launcher stands in for the console script: it
holds the first run inside ``os.replace`` until the test lets it go, and records when
a run reaches ``fcntl.flock``, so that the test knows the second run is waiting.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from greybox.cli import main

ROOT = Path(__file__).resolve().parents[2]

# argv: MARK GO greybox-arguments...; MARK.replace appears when the run is inside
# os.replace (which then waits for the file GO, if GO is not "-"), MARK.lock when it
# is about to take a file lock
LAUNCHER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    mark, go = sys.argv[1], sys.argv[2]
    real_replace, real_flock = os.replace, fcntl.flock

    def replace(src, dst, *args, **kwargs):
        open(mark + ".replace", "w").close()
        deadline = time.monotonic() + 60
        while go != "-" and not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_replace(src, dst, *args, **kwargs)

    def flock(fd, operation):
        open(mark + ".lock", "w").close()
        return real_flock(fd, operation)

    os.replace, fcntl.flock = replace, flock
    from greybox.cli import main
    sys.exit(main(sys.argv[3:]))
    """
)


def _start(mark: Path, go: Path | None, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", LAUNCHER, str(mark), str(go) if go else "-", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_add_rule_through_a_symlink_edits_the_target_and_keeps_the_link(tmp_path: Path, monkeypatch, capsys) -> None:
    real = tmp_path / "real" / "rules.dl"
    real.parent.mkdir()
    real.write_text("p(a).\n")
    link = tmp_path / "link.dl"
    link.symlink_to(Path("real") / "rules.dl")
    monkeypatch.chdir(tmp_path)

    assert main(["kb", "add-rule", "link.dl", "q(b)."]) == 0
    assert "added statement 2" in capsys.readouterr().out
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "rules.dl")
    assert real.read_text() == "p(a).\nq(b).\n"
    # the temporary file was written beside the real file, and is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.dl", "real"]
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


def test_two_concurrent_add_rule_runs_keep_both_statements(tmp_path: Path) -> None:
    rules = tmp_path / "rules.dl"
    rules.write_text("p(a).\n")
    go = tmp_path / "go"
    first = _start(tmp_path / "first", go, "kb", "add-rule", str(rules), "q(a).")
    second = None
    try:
        _wait_for(lambda: (tmp_path / "first.replace").exists() or first.poll() is not None, 60,
                  "the first run to reach its rename")
        assert first.poll() is None, first.communicate()
        second = _start(tmp_path / "second", None, "kb", "add-rule", str(rules), "q(b).")
        # the second run either finishes (no lock) or waits for the first one's lock
        _wait_for(lambda: second.poll() is not None or (tmp_path / "second.lock").exists(), 60,
                  "the second run to finish or to wait for the lock")
    finally:
        go.touch()
        out_first = first.communicate(timeout=60)
        out_second = second.communicate(timeout=60) if second else ("", "")
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "added statement 2" in out_first[0]
    assert "added statement" in out_second[0]
    statements = rules.read_text().splitlines()
    assert sorted(statements) == ["p(a).", "q(a).", "q(b)."], statements
