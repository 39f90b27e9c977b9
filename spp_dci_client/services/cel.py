"""Translate a CEL-style predicate into the spec's predicate list.

    to_predicate('birth_date >= "2020-01-01" && sex == "female"')
    # [{"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "ge", ...},
    #   "condition": "and", "expression2": {"attribute_name": "sex", "operator": "eq", ...}}]

The subset: comparisons (== != < <= > >=) of an attribute with a literal,
``attribute in [literal, ...]``, ``&&``, ``||``, ``!`` and parentheses;
literals are strings ('...' or "..."), numbers, true, false,
date("YYYY-MM-DD") and timestamp("<ISO 8601>"). Attribute names may be
dotted (person.age).

The spec's list is read as a conjunction of items; an item is one
comparison, the negation of one (condition "not"), or two comparisons joined
by "and" or "or". The expression is brought to that shape: negations are kept
on the comparisons they apply to (never turned into the opposite operator,
which would differ when the attribute is missing), and the whole is put in
conjunctive normal form. What cannot take that shape (an "or" of three
comparisons, a negation inside an "or", null, functions, arithmetic) raises
DCIQueryError naming the part.
"""

import math
import re
from datetime import date, datetime

from .errors import DCIQueryError, _lt

MAX_LENGTH = 4000
MAX_CLAUSES = 64
MAX_DEPTH = 32
MAX_COMPARISONS = 100
COMPARISONS = {"==": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
MIRRORED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}
_TOKENS = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<operator>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|\[|\]|,|-)
""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _error(part, reason):
    return DCIQueryError(_lt("Unsupported predicate: %(reason)s (at %(part)s).", reason=reason, part=part), part=part)


def _tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if not match:
            raise _error(repr(text[position : position + 20]), "unexpected character")
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group(), position))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


def _unquote(token):
    body = token[1:-1]
    result = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise _error(token, f"unsupported escape \\{escaped}")
            result.append(_ESCAPES[escaped])
            index += 2
        else:
            result.append(char)
            index += 1
    return "".join(result)


class _Parser:
    """Recursive descent over the tokens; nodes are ("cmp", name, op, value), ("not", n), ("and"|"or", a, b)."""

    def __init__(self, text):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self):
        return self.tokens[self.index]

    def take(self, value=None):
        token = self.tokens[self.index]
        if value is not None and token[1] != value:
            raise _error(self.where(token), f"expected {value!r}")
        self.index += 1
        return token

    def where(self, token):
        return repr(self.text[token[2] : token[2] + 20] or "the end")

    def parse(self):
        node = self.disjunction()
        if self.peek()[0] != "end":
            raise _error(self.where(self.peek()), "unexpected text")
        return node

    def disjunction(self):
        node = self.conjunction()
        while self.peek()[1] == "||":
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.unary()
        while self.peek()[1] == "&&":
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self):
        token = self.peek()
        if token[1] not in ("!", "("):
            return self.comparison()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.where(token), f"nested more than {MAX_DEPTH} levels deep")
        self.take()
        if token[1] == "!":
            node = ("not", self.unary())
        else:
            node = self.disjunction()
            self.take(")")
        self.depth -= 1
        return node

    def comparison(self):
        start = self.peek()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise _error(self.where(start), f"more than {MAX_COMPARISONS} comparisons")
        left = self.operand()
        operator = self.peek()
        if operator[1] == "in":
            self.take()
            if left[0] != "name":
                raise _error(self.where(start), "'in' needs an attribute on its left")
            values = self.list_literal()
            node = ("cmp", left[1], "eq", values[0])
            for value in values[1:]:
                node = ("or", node, ("cmp", left[1], "eq", value))
            return node
        if operator[1] not in COMPARISONS and operator[1] != "!=":
            raise _error(self.where(operator), "a comparison operator (== != < <= > >= in) is expected")
        self.take()
        right = self.operand()
        if (left[0] == "name") == (right[0] == "name"):
            raise _error(self.where(start), "a comparison needs one attribute and one literal")
        if operator[1] == "!=":
            name, value = (left[1], right[1]) if left[0] == "name" else (right[1], left[1])
            return ("not", ("cmp", name, "eq", value))
        op = COMPARISONS[operator[1]]
        if left[0] == "name":
            return ("cmp", left[1], op, right[1])
        return ("cmp", right[1], MIRRORED[op], left[1])

    def list_literal(self):
        self.take("[")
        values = [self.literal()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.literal())
        self.take("]")
        return values

    def operand(self):
        token = self.peek()
        if token[0] == "name" and token[1] not in ("true", "false", "null", "date", "timestamp"):
            self.take()
            if self.peek()[1] == "(":
                raise _error(self.where(token), f"function {token[1]}() is not supported")
            return ("name", token[1])
        return ("literal", self.literal())

    def literal(self):
        token = self.take()
        kind, value = token[0], token[1]
        if kind == "string":
            return _unquote(value)
        if kind == "number":
            if not any(char in value for char in ".eE"):
                return int(value)
            if not math.isfinite(float(value)):
                raise _error(self.where(token), "the number is out of range")
            return float(value)
        if value == "-" and self.peek()[0] == "number":
            number = self.literal()
            return -number
        if value in ("true", "false"):
            return value == "true"
        if value in ("date", "timestamp"):
            self.take("(")
            argument = self.take()
            if argument[0] != "string":
                raise _error(self.where(argument), f"{value}() takes a quoted string")
            self.take(")")
            return _temporal(value, _unquote(argument[1]), self.where(token))
        if value == "null":
            raise _error(self.where(token), "null is not supported")
        raise _error(self.where(token), "a literal (string, number, true, false, date(), timestamp()) is expected")


def _temporal(function, text, where):
    try:
        if function == "date":
            return date.fromisoformat(text).isoformat()
        if datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is None:
            raise ValueError(text)
        return text
    except ValueError:
        shape = "YYYY-MM-DD" if function == "date" else "an ISO 8601 date-time with a time zone"
        raise _error(where, f"{function}() needs {shape}") from None


def _literals(node, negated=False):
    """Negation normal form as CNF clauses: a list of tuples of (name, op, value, negated)."""
    kind = node[0]
    if kind == "cmp":
        return [((node[1], node[2], node[3], negated),)]
    if kind == "not":
        return _literals(node[1], not negated)
    conjunction = (kind == "and") != negated
    left, right = _literals(node[1], negated), _literals(node[2], negated)
    clauses = left + right if conjunction else [_merge(first, second) for first in left for second in right]
    if len(clauses) > MAX_CLAUSES:
        raise _error("the whole expression", "too many combinations of 'or' and 'and'")
    return clauses


def _merge(first, second):
    return first + tuple(literal for literal in second if literal not in first)


def _render(literal):
    name, op, value, negated = literal
    symbol = {value: key for key, value in COMPARISONS.items()}[op]
    text = f"{name} {symbol} {value!r}"
    return f"!({text})" if negated else text


def _expression(literal):
    name, op, value, _negated = literal
    return {"attribute_name": name, "operator": op, "attribute_value": value}


def _items(clauses):
    items = []
    pending = None
    for clause in dict.fromkeys(clauses):
        if len(clause) == 1 and not clause[0][3]:
            if pending:
                items.append({"expression1": pending, "condition": "and", "expression2": _expression(clause[0])})
                pending = None
            else:
                pending = _expression(clause[0])
            continue
        if len(clause) == 1:
            items.append({"expression1": _expression(clause[0]), "condition": "not"})
        elif len(clause) == 2 and not (clause[0][3] or clause[1][3]):
            items.append(
                {"expression1": _expression(clause[0]), "condition": "or", "expression2": _expression(clause[1])}
            )
        else:
            part = " || ".join(map(_render, clause))
            reason = (
                "a negation inside an 'or'"
                if any(literal[3] for literal in clause)
                else "an 'or' of more than two comparisons"
            )
            raise _error(part, f"{reason} has no predicate form")
    if pending:
        items.append({"expression1": pending})
    return [dict(item, seq_num=number) for number, item in enumerate(items, start=1)]


def to_predicate(text):
    """The spec's predicate list for a CEL-style expression; DCIQueryError if it has no such form."""
    if not isinstance(text, str) or not text.strip():
        raise _error(repr(text), "a non-empty CEL expression string is required")
    if len(text) > MAX_LENGTH:
        raise _error("the whole expression", f"longer than {MAX_LENGTH} characters")
    return _items(_literals(_Parser(text).parse()))
