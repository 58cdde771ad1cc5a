"""Kinship reasoning from text (CLUTRR): an extractor reads relations, ``knowledge/kinship.dl`` composes them.

Only the relation asked about is labelled; the sentences' relations are never given.
"""

from tasks.kinship.data import RELATIONS, ClutrrDataModule, Story, collate_stories, parse_story, read_clutrr
from tasks.kinship.model import RelationExtractor, kinship_program, minilm_path

__all__ = ["RELATIONS", "ClutrrDataModule", "Story", "collate_stories", "parse_story", "read_clutrr",
           "RelationExtractor", "kinship_program", "minilm_path"]
