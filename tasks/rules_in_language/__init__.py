"""Reasoning over rules stated in English (RuleTaker, ProofWriter): a reader turns sentences into
facts and rules, the engine proves, the proof cites the sentences."""

from tasks.rules_in_language.data import ProofWriterDataModule, RuleTakerDataModule, collate_questions
from tasks.rules_in_language.files import ANSWERS, RuleQuestion, read_proofwriter, read_questions, read_ruletaker

__all__ = ["ANSWERS", "RuleQuestion", "RuleTakerDataModule", "ProofWriterDataModule", "collate_questions",
           "read_ruletaker", "read_proofwriter", "read_questions"]
