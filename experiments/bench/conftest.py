"""The benchmark scripts' doctests run in ``make test``; their timings do not."""

# runs inside DeepProbLog's own environment (experiments/bench/.deepproblog-venv), not greybox's
collect_ignore = ["deepproblog_side.py"]
