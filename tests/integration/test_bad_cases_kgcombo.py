"""Bad cases of ranking by learned path rules alone: a link that many paths of a rule vouch for tied with a
link that one path reaches, because the noisy-or counts each rule once."""

from tasks.kg.model import KGData, PathRuleCompletion, run


def _folder(tmp_path):
    # x reaches z by two p.q paths and y by one; r(x, z) holds in every group; the test asks r(x11, ?)
    rows = []
    for g in range(12):
        x, b, c, z, y = (f"x{g}", f"b{g}", f"c{g}", f"z{g}", f"y{g}")
        rows += [f"{x}\tp\t{b}", f"{x}\tp\t{c}", f"{b}\tq\t{z}", f"{c}\tq\t{z}", f"{b}\tq\t{y}"]
        if g < 11:
            rows.append(f"{x}\tr\t{z}")
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dev.tsv").write_text("x10\tr\tz10\n")
    (tmp_path / "test.tsv").write_text("x11\tr\tz11\n")
    return tmp_path


def test_a_link_with_more_paths_ranks_first_with_fitted_weights(tmp_path):
    report = run(KGData(str(_folder(tmp_path))),
                 PathRuleCompletion(min_support=2, smoothing=0.0, max_length=2, aggregation="log_count",
                                    learn_weights=True),
                 str(tmp_path / "rules.dl"))
    # tail: z11 (two paths) before y11 (one); head: x11 alone reaches z11
    assert report["test_mrr"] == 1.0
    assert "v_k * log(1 + n_k(x, z))" in (tmp_path / "rules.dl").read_text()


def test_the_kinship_config_ranks_by_path_counts(monkeypatch):
    from pathlib import Path

    from greybox.learn.sections import build_sections

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    _, model = build_sections(root / "experiments/kg/kinship.yaml")
    assert model.aggregation == "log_count" and model.learn_weights
