"""Neural predicates and ``ReasoningModule``: perception -> facts -> engine -> answers, as an ``nn.Module``."""

from .items import ItemLists
from .logical_forms import Literal, Reading
from .module import ReasoningModule, ReasoningOutput
from .predicate import NeuralOutput, NeuralPredicate
from .reader import ReaderOutput, TextReader

__all__ = ["ItemLists", "Literal", "Reading", "ReasoningModule", "ReasoningOutput", "NeuralOutput", "NeuralPredicate",
           "ReaderOutput", "TextReader"]
