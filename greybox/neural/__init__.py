"""Neural predicates and ``ReasoningModule``: perception -> facts -> engine -> answers, as an ``nn.Module``."""

from .items import ItemLists
from .module import ReasoningModule, ReasoningOutput
from .predicate import NeuralOutput, NeuralPredicate

__all__ = ["ItemLists", "ReasoningModule", "ReasoningOutput", "NeuralOutput", "NeuralPredicate"]
