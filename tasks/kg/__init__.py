"""Knowledge-graph completion (Kinship, UMLS, Nations, Family, Countries) with learned path rules.

Every predicted link comes with its proof: the rule that derives it and the known facts it joins.
"""

from tasks.kg.data import KGBenchmark, Triple, read_benchmark, read_triples

__all__ = ["KGBenchmark", "Triple", "read_benchmark", "read_triples"]
