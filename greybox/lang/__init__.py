"""The greybox rule language: its AST, parser and printer.

Example:
    >>> from greybox.lang import parse_program, format_program
    >>> prog = parse_program("edge(a, b). path(X, Y) :- edge(X, Y).")
    >>> prog.clauses[1].head
    Atom(predicate='path', args=(Var(name='X'), Var(name='Y')))
    >>> print(format_program(prog), end="")
    edge(a, b).
    path(X, Y) :- edge(X, Y).
"""

from .ast import (
    AGGREGATE_OPS,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    NO_SPAN,
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BinOp,
    BuiltinDomain,
    Clause,
    Comparison,
    Const,
    DomainDeclaration,
    DomainExpr,
    Expr,
    Learnable,
    Literal,
    Neg,
    Negation,
    NeuralDeclaration,
    Probability,
    Program,
    Query,
    RangeDomain,
    SetDomain,
    Span,
    Statement,
    Term,
    TypeDeclaration,
    Var,
    Weight,
)
from .parser import parse_program, parse_query, parse_statement
from .printer import format_expr, format_literal, format_program, format_statement

__all__ = [
    # ast
    "Span",
    "NO_SPAN",
    "Var",
    "Const",
    "BinOp",
    "Neg",
    "Term",
    "Expr",
    "Atom",
    "Negation",
    "Comparison",
    "Assign",
    "Aggregate",
    "Literal",
    "Probability",
    "Learnable",
    "Weight",
    "Clause",
    "AnnotatedDisjunction",
    "NeuralDeclaration",
    "RangeDomain",
    "SetDomain",
    "BuiltinDomain",
    "DomainExpr",
    "DomainDeclaration",
    "TypeDeclaration",
    "Query",
    "Statement",
    "Program",
    "COMPARISON_OPS",
    "ARITHMETIC_OPS",
    "AGGREGATE_OPS",
    # parser
    "parse_program",
    "parse_statement",
    "parse_query",
    # printer
    "format_program",
    "format_statement",
    "format_literal",
    "format_expr",
]

# ----------------------------------------------------------------
# analysis exports
# ----------------------------------------------------------------
from .analysis import ProgramInfo, RelationInfo, Stratum, analyze, check_program, require_bound  # noqa: E402
from .facts import InputFact, collect_facts  # noqa: E402
from .source import decode_source, read_source  # noqa: E402
from .walk import expr_depth, expr_leaves, expr_vars, fold_expr  # noqa: E402

__all__ += ["analyze", "check_program", "require_bound", "ProgramInfo", "RelationInfo", "Stratum",
            "collect_facts", "InputFact"]
__all__ += ["decode_source", "read_source", "expr_leaves", "expr_vars", "expr_depth", "fold_expr"]
