"""Tokenizer and recursive-descent parser for MLflow-style ``search_runs`` filters and order_by.

Hand-written rather than regex-based so that every error can say exactly where it happened and
what was expected there. Type checking (metrics take numbers, params take strings, ...) happens
here too, so the compiler only ever sees well-typed comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NoReturn, TypeAlias

from ...errors import FilterSyntaxError, InvalidInput
from ..limits import MAX_FILTER_LENGTH
from ..validation import unicode

Entity: TypeAlias = Literal["metric", "param", "tag", "attribute", "dataset"]
Scalar: TypeAlias = int | float | str
Value: TypeAlias = Scalar | tuple[Scalar, ...] | None

# ---------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Comparison:
    """``<entity>.<key> <op> <value>``.

    ``op`` is one of ``= != < <= > >= LIKE ILIKE NOT LIKE NOT ILIKE IN NOT IN IS NULL IS NOT NULL``
    (``<>`` is normalised to ``!=``, ``= NULL`` to ``IS NULL``). ``value`` is a number or string,
    a tuple of them for ``IN``, ``None`` for ``IS [NOT] NULL``. Attribute keys are canonical
    (``name`` becomes ``run_name``).
    """

    entity: Entity
    key: str
    op: str
    value: Value
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


Expr: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    entity: Entity
    key: str
    ascending: bool = True


# ------------------------------------------------------------------------------ vocabulary

_PREFIXES: dict[str, Entity] = {
    "metrics": "metric", "metric": "metric",
    "params": "param", "param": "param", "parameters": "param", "parameter": "param",
    "tags": "tag", "tag": "tag",
    "attributes": "attribute", "attribute": "attribute", "attr": "attribute", "run": "attribute",
    "datasets": "dataset", "dataset": "dataset",
}  # fmt: skip

#: attribute -> kind: "number" (ms timestamps), "id" (integer experiment id), "string".
ATTRIBUTES: dict[str, str] = {
    "run_id": "string", "run_name": "string", "status": "string", "start_time": "number",
    "end_time": "number", "user_id": "string", "experiment_id": "id",
    "lifecycle_stage": "string", "parent_run_id": "string", "notes": "string",
    "source_path": "string",  # a model version's source (registry searches only)
}  # fmt: skip
_ATTRIBUTE_ALIASES = {"name": "run_name"}
DATASET_KEYS = ("name", "digest", "context")
RUN_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED")

_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "IS NULL", "IS NOT NULL")
_STRING_OPS = _NUMERIC_OPS[:6] + ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE") + _NUMERIC_OPS[6:]
_ID_OPS = ("=", "!=", "IN", "NOT IN")
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"}

#: Deeper nesting of parentheses / NOT is refused: it protects Python's recursion limit and
#: SQLite's parser stack (which overflows at about 32 levels of nested AND/OR in SQL).
MAX_NESTING = 20
_INT64 = 2**63

# ---------------------------------------------------------------------------------- tokens

TokenKind: TypeAlias = Literal["word", "number", "string", "name", "op", "punct", "end"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the source text, for error messages
    value: str  # decoded: string contents, upper-cased keyword, operator...
    start: int
    end: int


_Literal: TypeAlias = "tuple[Scalar | None, Token]"  # a parsed value and where it was


_DIGITS = "0123456789"  # not str.isdigit(): int() and float() reject "²"


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c in "_-./:"


def _error(message: str, text: str, position: int, found: str | None = None) -> NoReturn:
    if found and len(found) > 40:
        found = found[:37] + "..."
    message = f"{message} at position {position}" + (f", found {found}" if found else "")
    raise FilterSyntaxError(message, text, position)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an ``end`` token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c in "(),":
            tokens.append(Token("punct", c, c, i, i + 1))
            i += 1
        elif c in "<>!=":
            op = text[i : i + 2] if text[i : i + 2] in ("<=", ">=", "<>", "!=") else c
            if op == "!":
                _error("expected '!=' (a lone '!' is not an operator)", text, i, "'!'")
            if text[i : i + 2] == "==":
                _error("expected '=' (comparisons use a single '=')", text, i, "'=='")
            i += len(op)
            tokens.append(Token("op", op, "!=" if op == "<>" else op, start, i))
        elif c in "'\"`":
            i, value = _scan_quoted(text, i)
            tokens.append(Token("name" if c == "`" else "string", text[start:i], value, start, i))
        elif c in _DIGITS or (c in "-+." and _starts_number(text, i)):
            i = _scan_number(text, i)
            tokens.append(Token("number", text[start:i], text[start:i], start, i))
        elif c.isalpha() or c == "_":
            while i < n and _is_name_char(text[i]):
                i += 1
            word = text[start:i]
            tokens.append(Token("word", word, word.upper(), start, i))
        else:
            _error("expected a name, value, operator or parenthesis", text, i, repr(c))
    tokens.append(Token("end", "", "", n, n))
    return tokens


def _starts_number(text: str, i: int) -> bool:
    j = i + 1 if text[i] in "-+" else i
    if j < len(text) and text[j] == ".":
        j += 1
    return j < len(text) and text[j] in _DIGITS


def _scan_number(text: str, i: int) -> int:
    n, start = len(text), i
    if text[i] in "-+":
        i += 1
    while i < n and text[i] in _DIGITS:
        i += 1
    if i < n and text[i] == ".":
        i += 1
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j] in _DIGITS:
            i = j
            while i < n and text[i] in _DIGITS:
                i += 1
    if i < n and (text[i].isalnum() or text[i] in "_."):
        _error("expected a number", text, start, repr(_word_at(text, start, i)))
    return i


def _word_at(text: str, start: int, i: int) -> str:
    while i < len(text) and _is_name_char(text[i]):
        i += 1
    return text[start:i]


def _scan_quoted(text: str, i: int) -> tuple[int, str]:
    """Scan a quoted string or name starting at ``text[i]``.

    The quote is escaped by doubling it or with a backslash; ``\\\\`` is a backslash. Any other
    backslash is kept, so that ``'50\\%'`` still reaches LIKE as an escaped ``%``.
    """
    quote, start, out = text[i], i, []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            if text[i + 1 : i + 2] == quote:
                out.append(quote)
                i += 2
            else:
                return i + 1, "".join(out)
        elif c == "\x00":  # PostgreSQL text cannot hold NUL
            _error("expected text without NUL characters", text, i, "'\\x00'")
        else:
            out.append(c)
            i += 1
    _error(f"expected a closing {quote} for the one", text, start, "end of input")


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "end of input"
    return repr(tok.text if len(tok.text) <= 40 else tok.text[:37] + "...")


# ---------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.value in words

    def at_punct(self, p: str) -> bool:
        return self.tok.kind == "punct" and self.tok.value == p

    def fail(self, expected: str, tok: Token | None = None) -> NoReturn:
        tok = tok or self.tok
        _error(f"expected {expected}", self.text, tok.start, _describe(tok))

    def expect_punct(self, p: str, expected: str) -> Token:
        if not self.at_punct(p):
            self.fail(expected)
        return self.advance()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            _error(
                f"expected at most {MAX_NESTING} levels of parentheses and NOT",
                self.text,
                self.tok.start,
            )

    # -- grammar: or := and (OR and)* ; and := not (AND not)* ; not := NOT not | primary
    def parse_or(self) -> Expr:
        return self.parse_chain("OR", self.parse_and, Or)

    def parse_and(self) -> Expr:
        return self.parse_chain("AND", self.parse_not, And)

    def parse_chain(
        self, keyword: str, operand: Callable[[], Expr], node: type[And] | type[Or]
    ) -> Expr:
        """``operand (keyword operand)*``: one ``node`` over the operands, flat (``a OR b OR c``
        is one ``Or`` of three), or the lone operand as it is."""
        items = [operand()]
        while self.at_keyword(keyword):
            self.advance()
            items.append(operand())
        return items[0] if len(items) == 1 else node(tuple(items))

    def parse_not(self) -> Expr:
        if not self.at_keyword("NOT"):
            return self.parse_primary()
        self.advance()
        self.nest()
        operand = self.parse_not()
        self.depth -= 1
        return Not(operand)

    def parse_primary(self) -> Expr:
        if self.at_punct("("):
            self.advance()
            self.nest()
            expr = self.parse_or()
            self.depth -= 1
            self.expect_punct(")", "')' or AND/OR")
            return expr
        return self.parse_comparison()

    def parse_identifier(self) -> tuple[Entity, str, Token]:
        """``prefix.name``, ``prefix.`quoted name```, ``prefix."quoted name"`` or a bare attribute."""
        tok = self.tok
        expected = (
            "an identifier such as metrics.<name>, params.<name>, tags.<name>, "
            "attributes.<name> or datasets.<name>"
        )
        if tok.kind != "word":
            self.fail(expected)
        prefix, dot, name = tok.text.partition(".")
        entity = _PREFIXES.get(prefix.lower())
        if not dot:
            key = _ATTRIBUTE_ALIASES.get(tok.text.lower(), tok.text.lower())
            if key not in ATTRIBUTES:
                self.fail(expected)
            self.advance()
            return "attribute", key, tok
        if entity is None:
            self.fail(expected)
        self.advance()
        if not name:
            quoted = self.tok
            adjacent = quoted.start == tok.end and quoted.text[:1] in ('"', "`")
            if not adjacent:
                self.fail(f"a name after '{tok.text}' (plain, `backticked` or \"double-quoted\")")
            name = self.advance().value
            if not name:
                self.fail("a non-empty name", quoted)
        return entity, self._check_key(entity, name, tok), tok

    def _check_key(self, entity: Entity, name: str, tok: Token) -> str:
        if entity == "attribute":
            key = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
            if key not in ATTRIBUTES:
                expected = f"expected an attribute ({', '.join(ATTRIBUTES)})"
                _error(expected, self.text, tok.start, repr(name))
            return key
        if entity == "dataset":
            if name.lower() not in DATASET_KEYS:
                expected = f"expected a dataset field ({', '.join(DATASET_KEYS)})"
                _error(expected, self.text, tok.start, repr(name))
            return name.lower()
        return name

    def parse_operator(self) -> tuple[str, Token]:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return tok.value, tok
        if self.at_keyword("LIKE", "ILIKE", "IN"):
            self.advance()
            return tok.value, tok
        if self.at_keyword("NOT"):
            self.advance()
            if not self.at_keyword("LIKE", "ILIKE", "IN"):
                self.fail("LIKE, ILIKE or IN after NOT")
            return "NOT " + self.advance().value, tok
        if self.at_keyword("IS"):
            self.advance()
            negate = self.at_keyword("NOT")
            if negate:
                self.advance()
            if not self.at_keyword("NULL"):
                self.fail("NULL" if negate else "NULL or NOT NULL")
            self.advance()
            return ("IS NOT NULL" if negate else "IS NULL"), tok
        self.fail("a comparison operator")

    def parse_scalar(self) -> _Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.value, tok
        if tok.kind == "number":
            self.advance()
            return _number(tok, self.text), tok
        if self.at_keyword("NULL"):
            self.advance()
            return None, tok
        self.fail("a value (a number, a 'quoted string' or NULL)")

    def parse_comparison(self) -> Comparison:
        entity, key, ident = self.parse_identifier()
        op, op_tok = self.parse_operator()
        value: Value = None
        values: list[_Literal] = []
        if op in ("IN", "NOT IN"):
            self.expect_punct("(", f"'(' after {op}")
            values.append(self.parse_scalar())
            while self.at_punct(","):
                self.advance()
                values.append(self.parse_scalar())
            self.expect_punct(")", "',' or ')' to close the list")
        elif op not in ("IS NULL", "IS NOT NULL"):
            values.append(self.parse_scalar())
            if values[0][0] is None:  # "= NULL" reads as IS NULL; anything else is a mistake
                if op not in ("=", "!="):
                    self.fail(
                        "a number or a 'quoted string' (NULL works only with =, != and IS)",
                        values[0][1],
                    )
                op, values = ("IS NULL" if op == "=" else "IS NOT NULL"), []
        self._check_types(entity, key, op, op_tok, values)
        if op in ("IN", "NOT IN"):
            value = tuple(v for v, _ in values if v is not None)
        elif values:
            value = values[0][0]
        if entity == "attribute" and ATTRIBUTES[key] == "id" and value is not None:
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)
        elif entity == "metric" and value is not None:  # floats, also to keep ints in SQL range
            value = tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)
        return Comparison(entity, key, op, value, ident.start)

    def _check_types(
        self, entity: Entity, key: str, op: str, op_tok: Token, values: list[_Literal]
    ) -> None:
        kind = ATTRIBUTES[key] if entity == "attribute" else "number" if entity == "metric" else ""
        what = f"attribute {key}" if entity == "attribute" else f"{entity}s"
        allowed = {"number": _NUMERIC_OPS, "id": _ID_OPS}.get(kind, _STRING_OPS)
        if op not in allowed:
            expected = f"{what} cannot use {op}: expected one of {', '.join(allowed)}"
            _error(expected, self.text, op_tok.start, repr(op_tok.text))
        for v, tok in values:
            if v is None:
                self.fail("a value other than NULL in the list", tok)
            elif kind == "number" and not isinstance(v, (int, float)):
                expected = f"{what} compare with numbers: expected a number"
                _error(expected, self.text, tok.start, tok.text)
            elif kind == "id" and not _is_id(v):
                expected = f"{what} is an integer id: expected a number or '123'"
                _error(expected, self.text, tok.start, tok.text)
            elif kind not in ("number", "id") and not isinstance(v, str):
                expected = f"{what} compare with strings: expected a 'quoted string'"
                _error(expected, self.text, tok.start, f"{tok.text} (write '{tok.text}')")
            elif op.endswith("LIKE") and (len(str(v)) - len(str(v).rstrip("\\"))) % 2:
                # PostgreSQL rejects a pattern ending in its escape character.
                expected = "expected a character after the final '\\' of the LIKE pattern"
                _error(expected, self.text, tok.start, tok.text)
            elif key == "status" and entity == "attribute" and op in _ID_OPS:
                if v not in RUN_STATUSES:
                    expected = f"expected a run status ({', '.join(RUN_STATUSES)})"
                    _error(expected, self.text, tok.start, tok.text)

    def parse_order_item(self) -> OrderItem:
        entity, key, ident = self.parse_identifier()
        if entity == "dataset":
            _error(
                "expected metrics, params, tags or attributes (datasets cannot be ordered by)",
                self.text,
                ident.start,
                repr(ident.text),
            )
        ascending = True
        if self.at_keyword("ASC", "DESC"):
            ascending = self.advance().value == "ASC"
        if self.tok.kind != "end":
            self.fail("ASC, DESC or the end of the order_by item")
        return OrderItem(entity, key, ascending)


def _is_id(v: Scalar) -> bool:
    if isinstance(v, float):
        return False
    if isinstance(v, str):
        if not (v.isascii() and v.isdigit()):
            return False
        v = int(v)
    return 0 <= v < _INT64


def _number(tok: Token, text: str) -> int | float:
    s = tok.text
    if not any(c in s for c in ".eE") and len(s) <= 20:  # int() refuses huge digit strings
        n = int(s)
        return n if -_INT64 <= n < _INT64 else float(n)
    v = float(s)
    if math.isinf(v):
        _error("expected a finite number", text, tok.start, s)
    return v


def _check_length(text: str, what: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(
            f"{what} is {len(text)} characters long; the limit is {MAX_FILTER_LENGTH}"
        )
    try:
        unicode(text, what)
    except InvalidInput as e:  # the database could not take it as a value either
        # no echo of the text under a pointer: the message must stay printable
        err = FilterSyntaxError(e.message)
        err.position = e.details["position"]
        err.details["position"] = err.position
        raise err from None


def parse_filter(text: str | None) -> Expr | None:
    """Parse a ``search_runs`` filter; ``None`` means "no filter" (also for blank text)."""
    if text is None or not text.strip():
        return None
    try:
        _check_length(text, "the filter")
        parser = _Parser(text)
        expr = parser.parse_or()
        if parser.tok.kind != "end":
            parser.fail("AND, OR or the end of the filter")
    except FilterSyntaxError as e:
        e.details["field"] = "filter"
        raise
    return expr


def parse_order_by(items: list[str] | tuple[str, ...] | None) -> list[OrderItem]:
    """Parse order_by clauses like ``"metrics.loss DESC"``; positions are within each item."""
    out: list[OrderItem] = []
    for index, item in enumerate(items or ()):
        try:
            if not isinstance(item, str):
                raise FilterSyntaxError(f"order_by items must be strings, got {item!r}")
            _check_length(item, "the order_by item")
            if not item.strip():
                raise FilterSyntaxError("expected an order_by item, found an empty string", item, 0)
            out.append(_Parser(item).parse_order_item())
        except FilterSyntaxError as e:
            e.details.update(field="order_by", item=index)
            raise
    return out
