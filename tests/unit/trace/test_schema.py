"""The DecisionTrace schema: strictness, round trips, the committed JSON Schema."""

from __future__ import annotations

import inspect
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import greybox.trace
from greybox.errors import ConfigError, ParseError
from greybox.trace import schema
from greybox.trace.schema import (
    SCHEMA_VERSION,
    DecisionTrace,
    KGSource,
    NeuralSource,
    PerceivedInput,
    ProgramSource,
    ProofNode,
    TraceBatch,
    json_schema,
    schema_text,
    validate_trace_json,
    write_schema,
)
from tests.helpers.traces import digit_sum_trace, kinship_trace, sample_batch

SCHEMA_FILE = Path(schema.__file__).with_name("schema.json")
REGENERATE = "python -m greybox.trace.schema > greybox/trace/schema.json"
MODELS = [
    obj for _, obj in inspect.getmembers(schema, inspect.isclass)
    if issubclass(obj, BaseModel) and obj.__module__ == schema.__name__ and not obj.__name__.startswith("_")
]


def test_committed_schema_matches_the_models():
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == schema_text(), (
        f"greybox/trace/schema.json is out of date with greybox/trace/schema.py; regenerate it with: {REGENERATE}"
    )


def test_schema_entry_point_prints_the_schema_without_warnings():
    out = subprocess.run([sys.executable, "-m", "greybox.trace.schema"], capture_output=True, text=True,
                         cwd=Path(schema.__file__).parents[2], check=True, timeout=60)
    assert out.stdout == schema_text()
    assert out.stderr == ""


def test_schema_names_every_model_and_the_version():
    s = json_schema()
    assert s["title"] == f"greybox DecisionTrace {SCHEMA_VERSION}"
    assert {m.__name__ for m in MODELS} <= set(s["$defs"])
    assert s["$defs"]["DecisionTrace"]["properties"]["schema_version"]["const"] == SCHEMA_VERSION == "1.4"
    # what greybox writes always has every field
    assert "why_not" in s["$defs"]["DecisionTrace"]["required"]
    assert s["$defs"]["ProofNode"]["additionalProperties"] is False


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_is_strict_and_frozen(model):
    assert model.model_config["extra"] == "forbid"
    assert model.model_config["frozen"] is True


def test_extra_fields_are_rejected():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ProgramSource(file="a.dl", line=1, colour="red")


def test_models_are_frozen():
    src = ProgramSource(file="a.dl", line=1)
    with pytest.raises(ValidationError, match="frozen"):
        src.line = 2


@pytest.mark.parametrize("make", [digit_sum_trace, kinship_trace], ids=["digit_sum", "kinship"])
def test_traces_round_trip_through_json(make):
    trace = make()
    back = validate_trace_json(trace.model_dump_json())
    assert isinstance(back, DecisionTrace)
    assert back == trace


def test_batches_round_trip_and_keep_source_kinds():
    batch = sample_batch()
    back = validate_trace_json(batch.model_dump_json(indent=2).encode("utf-8"))
    assert isinstance(back, TraceBatch) and back == batch
    kinds = {n.source.kind for t in back.traces for p in t.proofs for n in p.root.walk() if n.source}
    assert kinds == {"neural", "kg", "input"}
    leaf = back.traces[1].proofs[0].root.children[1]
    assert isinstance(leaf.source, NeuralSource) and leaf.source.cls == 5  # int classes stay ints


def test_source_is_discriminated_on_kind():
    node = ProofNode.model_validate({"atom": "male(dan)", "source": {"kind": "kg", "file": "p.csv", "row": 4}})
    assert isinstance(node.source, KGSource)
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ProofNode.model_validate({"atom": "a", "source": {"kind": "oracle", "file": "p.csv"}})
    with pytest.raises(ValidationError, match="row"):  # a kg source needs its row
        ProofNode.model_validate({"atom": "a", "source": {"kind": "kg", "file": "p.csv"}})


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan, math.inf])
def test_probabilities_must_be_finite_and_in_unit_interval(bad):
    with pytest.raises(ValidationError, match="probability"):
        DecisionTrace(task="t", split="s", index=0, query="q", predicted="a", probability=bad)


def test_trace_invariants():
    base = dict(task="t", split="s", index=0, query="q", predicted="a", probability=0.5)
    image = PerceivedInput(index=0, kind="image")
    with pytest.raises(ValidationError, match=r"culprit_inputs \[3\] name no input"):
        DecisionTrace(**base, inputs=[image], culprit_inputs=[3])
    with pytest.raises(ValidationError, match="input indices must be unique"):
        DecisionTrace(**base, inputs=[image, image])
    with pytest.raises(ValidationError, match="alternatives repeat the predicted answer 'a'"):
        DecisionTrace(**base, alternatives=[{"answer": "a", "probability": 0.2}])


def test_perceived_inputs_only_carry_image_data_uris():
    with pytest.raises(ValidationError, match="String should match pattern"):
        PerceivedInput(index=0, kind="image", data_uri="javascript:alert(1)")
    with pytest.raises(ValidationError, match="is text but has a data_uri"):
        PerceivedInput(index=0, kind="text", data_uri="data:image/png;base64,AAAA")
    with pytest.raises(ValidationError, match="is an image but has text"):
        PerceivedInput(index=0, kind="image", text="hello")
    assert PerceivedInput(index=0, kind="image", read_as="5", true_label="4").misread


def test_sources_describe_themselves():
    neural = NeuralSource(predicate="digit", model="digit_net", sample=0, input_index=1, cls=3, probability=0.91)
    assert neural.describe() == "digit_net read input 1 as 3 (p=0.910)"
    assert ProgramSource(file="k.dl", line=3).location == "k.dl:3"
    assert ProgramSource(line=3).location == "<program>:3"
    assert ProgramSource(file="k.dl").location == "k.dl"
    assert KGSource(file="p.csv", row=2).describe() == "knowledge graph p.csv row 2"


def test_validate_reports_bad_json_with_line_and_column():
    with pytest.raises(ParseError, match="trace is not valid JSON") as info:
        validate_trace_json('{\n  "schema_version": "1.0",\n  "task": \n}', file="t.json")
    assert (info.value.file, info.value.line, info.value.column) == ("t.json", 4, 1)


def test_validate_requires_the_schema_version():
    data = digit_sum_trace().model_dump(mode="json")
    del data["schema_version"]
    with pytest.raises(ParseError, match="trace has no schema_version"):
        validate_trace_json(json.dumps(data))
    data["schema_version"] = "2.0"
    with pytest.raises(ParseError, match="schema_version '2.0' but this greybox reads '1.0'"):
        validate_trace_json(json.dumps(data))
    with pytest.raises(ParseError, match="must be a JSON object, got list"):
        validate_trace_json("[]")


def test_validate_names_the_path_of_each_problem():
    data = digit_sum_trace().model_dump(mode="json")
    data["proofs"][0]["root"]["children"][1]["probability"] = 3
    data["inputs"][0]["colour"] = "red"
    with pytest.raises(ParseError, match=r"proofs\.0\.root\.children\.1\.probability: .*less than or equal to 1") as info:
        validate_trace_json(json.dumps(data))
    assert "inputs.0.colour: Extra inputs are not permitted" in str(info.value)
    assert "schema.json" in info.value.hint


def test_write_schema(tmp_path):
    path = write_schema(tmp_path / "s.json")
    assert json.loads(path.read_text(encoding="utf-8")) == json_schema()
    with pytest.raises(ConfigError, match="cannot write the trace schema"):
        write_schema(tmp_path / "missing" / "s.json")


def test_package_exports_functions_not_modules():
    import greybox.trace.render_html as loaded  # noqa: F401  (loads the module of the same name)

    for name in greybox.trace.__all__:
        value = getattr(greybox.trace, name)
        assert not inspect.ismodule(value), name
    from greybox.trace import render_html

    assert callable(render_html) and render_html.__name__ == "render_html"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        greybox.trace.nope  # noqa: B018


def test_provenance_says_untrained_exactly_without_a_checkpoint():
    from greybox.trace.schema import Provenance

    assert Provenance(greybox_version="0.1.0").untrained
    assert not Provenance(checkpoint="x.ckpt", checkpoint_sha256="0" * 64, greybox_version="0.1.0").untrained
    with pytest.raises(ValueError, match="untrained must be true exactly when no checkpoint is named"):
        Provenance(checkpoint="x.ckpt", untrained=True, greybox_version="0.1.0")
    with pytest.raises(ValueError, match="checkpoint_sha256 is given but no checkpoint"):
        Provenance(checkpoint_sha256="0" * 64, greybox_version="0.1.0")
    with pytest.raises(ValueError, match="String should match pattern"):
        Provenance(checkpoint="x.ckpt", checkpoint_sha256="xyz", greybox_version="0.1.0")


def test_a_1_1_trace_reads_as_the_current_version_without_provenance():
    from tests.helpers.traces import digit_sum_trace

    data = digit_sum_trace().model_dump(mode="json")
    for key in ("provenance", "label_proofs"):
        del data[key]
    data["schema_version"] = "1.1"
    trace = validate_trace_json(json.dumps(data))
    assert trace.schema_version == SCHEMA_VERSION and trace.provenance is None and trace.label_proofs == []


def test_a_1_2_trace_reads_as_1_3_without_symbolic_provenance():
    from tests.helpers.traces import digit_sum_trace

    data = digit_sum_trace().model_dump(mode="json")
    del data["symbolic"]
    for key in ("exact", "target_symbolic"):
        del data["why_not"][key]
    data["schema_version"] = "1.2"
    trace = validate_trace_json(json.dumps(data))
    assert trace.schema_version == "1.4" and trace.symbolic is None
    assert trace.why_not is not None and trace.why_not.exact == [] and trace.why_not.target_symbolic is None
