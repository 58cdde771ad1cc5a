"""Neural predicates and ``ReasoningModule``: perception -> facts -> engine -> answers, as an ``nn.Module``."""

from .module import ReasoningModule, ReasoningOutput
from .predicate import NeuralOutput, NeuralPredicate

__all__ = ["ReasoningModule", "ReasoningOutput", "NeuralOutput", "NeuralPredicate"]
