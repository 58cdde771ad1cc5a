"""Tiny theories stated in English, as RuleTaker and ProofWriter files, and a config that reads them with the template double."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CWA_THEORIES", "OWA_ITEMS", "write_ruletaker", "write_proofwriter", "write_config"]

#: closed world: a recursive rule, negation as failure, a negated conclusion (derives nothing)
CWA_THEORIES = [
    {"id": "Tiny-1", "context": "Bob is big. The cow chases Bob. If something is big and it is not cold then it is red. "
                                "If something is red then it is kind. If something chases Bob then it is happy. "
                                "If something is kind then it is not red.",
     "questions": [
         {"id": "Tiny-1-1", "text": "Bob is red.", "label": True, "meta": {"QDep": 1}},
         {"id": "Tiny-1-2", "text": "Bob is kind.", "label": True, "meta": {"QDep": 2}},
         {"id": "Tiny-1-3", "text": "Bob is not cold.", "label": True, "meta": {"QDep": 0}},
         {"id": "Tiny-1-4", "text": "The cow is red.", "label": False, "meta": {"QDep": 1}},
         {"id": "Tiny-1-5", "text": "The cow is not kind.", "label": True, "meta": {"QDep": 2}},
     ]},
    {"id": "Tiny-2", "context": "Anne is round. If someone is round then they are cold. If someone is cold then they are blue.",
     "questions": [
         {"id": "Tiny-2-1", "text": "Anne is blue.", "label": True, "meta": {"QDep": 2}},
         {"id": "Tiny-2-2", "text": "Anne is not blue.", "label": False, "meta": {"QDep": 2}},
     ]},
]

#: open world: True, False (a stated negation), Unknown
OWA_ITEMS = [
    {"id": "Tiny_T1_Q1", "context": "Bob is big. Bob is not cold. If something is big then it is red. "
                                    "If something is red then it is not kind.",
     "question": "Based on the above information, is the following statement true, false, or unknown? Bob is red.",
     "options": ["A) True", "B) False", "C) Unknown"], "answer": "A"},
    {"id": "Tiny_T1_Q2", "context": "Bob is big. Bob is not cold. If something is big then it is red. "
                                    "If something is red then it is not kind.",
     "question": "Based on the above information, is the following statement true, false, or unknown? Bob is kind.",
     "options": ["A) True", "B) False", "C) Unknown"], "answer": "B"},
    {"id": "Tiny_T1_Q3", "context": "Bob is big. Bob is not cold. If something is big then it is red. "
                                    "If something is red then it is not kind.",
     "question": "Based on the above information, is the following statement true, false, or unknown? Bob is round.",
     "options": ["A) True", "B) False", "C) Unknown"], "answer": "C"},
]


def write_ruletaker(folder: Path, name: str = "tiny") -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in CWA_THEORIES), encoding="utf-8")
    return path


def write_proofwriter(folder: Path, name: str = "tiny") -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(OWA_ITEMS, indent=1), encoding="utf-8")
    return path


def write_config(folder: Path, world: str = "closed", confidence: float = 0.9) -> Path:
    """A config over the tiny files, read by the template double (``tests.helpers.rule_templates``)."""
    write_ruletaker(folder)
    write_proofwriter(folder)
    if world == "closed":
        data = (f"  class_path: tasks.rules_in_language.data.RuleTakerDataModule\n"
                f"  init_args: {{data_dir: {folder}, test_split: tiny, train_splits: [tiny], val_fraction: 0.5, batch_size: 4}}\n")
    else:
        data = (f"  class_path: tasks.rules_in_language.data.ProofWriterDataModule\n"
                f"  init_args: {{train_file: {folder / 'tiny.json'}, test_file: {folder / 'tiny.json'}, batch_size: 4}}\n")
    path = folder / f"tiny_{world}.yaml"
    path.write_text(
        "seed_everything: 0\n"
        "trainer:\n  accelerator: cpu\n  devices: 1\n  logger: false\n  enable_checkpointing: false\n"
        f"  default_root_dir: {folder / 'runs'}\n"
        "model:\n  class_path: tasks.rules_in_language.model.RulesInLanguageTask\n"
        f"  init_args:\n    world: {world}\n    reader:\n      class_path: tests.helpers.rule_templates.TemplateReader\n"
        f"      init_args: {{confidence: {confidence}}}\n"
        "data:\n" + data, encoding="utf-8")
    return path
