"""Parser tests: every construct, error positions, and fuzzing (only FilterSyntaxError may escape)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from jupyter_mm.core import schema
from jupyter_mm.core.limits import MAX_FILTER_LENGTH
from jupyter_mm.core.search import (
    And,
    Comparison,
    Not,
    Or,
    OrderItem,
    apply_filter,
    apply_order_by,
    parse_filter,
    parse_order_by,
)
from jupyter_mm.core.search.parser import MAX_NESTING, tokenize
from jupyter_mm.errors import FilterSyntaxError, InvalidInput


def C(entity: str, key: str, op: str, value: object = None) -> Comparison:
    return Comparison(entity, key, op, value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ constructs


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_blank_filter_is_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    "prefix, entity",
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("METRICS", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameters", "param"),
        ("parameter", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
    ],
)
def test_prefixes(prefix: str, entity: str) -> None:
    value: object = 1.0 if entity == "metric" else "1"
    literal = "1" if entity == "metric" else "'1'"
    assert parse_filter(f"{prefix}.k = {literal}") == C(entity, "k", "=", value)


@pytest.mark.parametrize("prefix", ["attributes", "attribute", "attr", "run", "ATTR"])
def test_attribute_prefixes(prefix: str) -> None:
    assert parse_filter(f"{prefix}.status = 'RUNNING'") == C("attribute", "status", "=", "RUNNING")


@pytest.mark.parametrize(
    "name, key",
    [
        ("run_id", "run_id"),
        ("run_name", "run_name"),
        ("name", "run_name"),
        ("user_id", "user_id"),
        ("lifecycle_stage", "lifecycle_stage"),
        ("parent_run_id", "parent_run_id"),
        ("notes", "notes"),
    ],
)
def test_string_attributes(name: str, key: str) -> None:
    assert parse_filter(f"attributes.{name} LIKE 'a%'") == C("attribute", key, "LIKE", "a%")


def test_bare_attribute_names_like_mlflow() -> None:
    assert parse_filter("start_time > 5") == C("attribute", "start_time", ">", 5)
    assert parse_filter("name = 'x'") == C("attribute", "run_name", "=", "x")


def test_numeric_and_id_attributes() -> None:
    assert parse_filter("attributes.start_time >= 1700000000000") == C(
        "attribute", "start_time", ">=", 1700000000000
    )
    assert parse_filter("attributes.end_time IS NULL") == C("attribute", "end_time", "IS NULL")
    assert parse_filter("attributes.experiment_id = '3'") == C("attribute", "experiment_id", "=", 3)
    assert parse_filter("attributes.experiment_id IN (1, '2')") == C(
        "attribute", "experiment_id", "IN", (1, 2)
    )


@pytest.mark.parametrize("key", ["name", "digest", "context", "NAME"])
def test_dataset_fields(key: str) -> None:
    assert parse_filter(f"datasets.{key} = 'x'") == C("dataset", key.lower(), "=", "x")
    assert parse_filter(f"dataset.{key} IN ('x', 'y')") == C(
        "dataset", key.lower(), "IN", ("x", "y")
    )


@pytest.mark.parametrize(
    "text, key",
    [
        ("metrics.val_loss", "val_loss"),
        ("metrics.val/loss-2.x:y", "val/loss-2.x:y"),
        ("metrics.`val loss`", "val loss"),
        ('metrics."val loss"', "val loss"),
        ("metrics.`a``b`", "a`b"),
        ('metrics."a\\"b"', 'a"b'),
        ("metrics.ünï", "ünï"),
        ("metrics.AND", "AND"),
    ],
)
def test_key_spellings(text: str, key: str) -> None:
    assert parse_filter(f"{text} < 1") == C("metric", key, "<", 1.0)


@pytest.mark.parametrize(
    "op, norm",
    [("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<=")] + [(">", ">"), (">=", ">=")],
)
def test_comparison_operators(op: str, norm: str) -> None:
    assert parse_filter(f"metrics.m {op} 2") == C("metric", "m", norm, 2.0)
    assert parse_filter(f"metrics.m{op}2") == C("metric", "m", norm, 2.0)
    assert parse_filter(f"params.p {op} 'a'") == C("param", "p", norm, "a")


@pytest.mark.parametrize(
    "op", ["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "like", "not  ilike", "Not Like"]
)
def test_like_operators(op: str) -> None:
    norm = " ".join(op.upper().split())
    assert parse_filter(f"tags.t {op} '%x_'") == C("tag", "t", norm, "%x_")


def test_in_and_null() -> None:
    assert parse_filter("params.p IN ('a')") == C("param", "p", "IN", ("a",))
    assert parse_filter("params.p not in ('a', \"b\")") == C("param", "p", "NOT IN", ("a", "b"))
    assert parse_filter("metrics.m IN (1, -2.5e3)") == C("metric", "m", "IN", (1.0, -2500.0))
    assert parse_filter("tags.t IS NULL") == C("tag", "t", "IS NULL")
    assert parse_filter("tags.t is not null") == C("tag", "t", "IS NOT NULL")
    assert parse_filter("tags.t = NULL") == C("tag", "t", "IS NULL")
    assert parse_filter("tags.t != null") == C("tag", "t", "IS NOT NULL")


@pytest.mark.parametrize(
    "literal, value",
    [
        ("0", 0.0),
        ("-1", -1.0),
        ("+1", 1.0),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("-2.5E-3", -0.0025),
        ("1e+2", 100.0),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    assert parse_filter(f"metrics.m = {literal}") == C("metric", "m", "=", value)


def test_metric_values_are_floats_and_big_ints_stay_in_range() -> None:
    c = parse_filter("metrics.m = 3")
    assert isinstance(c, Comparison) and type(c.value) is float
    c = parse_filter("attributes.start_time > 123456789012345678901234567890")
    assert isinstance(c, Comparison) and isinstance(c.value, float)
    c = parse_filter("attributes.start_time > 12")
    assert isinstance(c, Comparison) and c.value == 12 and type(c.value) is int


@pytest.mark.parametrize(
    "literal, value",
    [
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\\\b'", "a\\b"),
        ("'50\\%'", "50\\%"),  # other backslashes survive for LIKE escapes
        ("''", ""),
        ("'AND OR ( )'", "AND OR ( )"),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    assert parse_filter(f"params.p = {literal}") == C("param", "p", "=", value)


def test_precedence_not_and_or() -> None:
    a, b, c = (C("metric", k, ">", 0.0) for k in "abc")
    assert parse_filter("metrics.a > 0 OR metrics.b > 0 AND metrics.c > 0") == Or((a, And((b, c))))
    assert parse_filter("metrics.a > 0 AND metrics.b > 0 OR metrics.c > 0") == Or((And((a, b)), c))
    assert parse_filter("NOT metrics.a > 0 AND metrics.b > 0") == And((Not(a), b))
    assert parse_filter("not not metrics.a > 0") == Not(Not(a))
    assert parse_filter("(metrics.a > 0 or metrics.b > 0) and metrics.c > 0") == And(
        (Or((a, b)), c)
    )
    assert parse_filter("metrics.a > 0 and metrics.b > 0 and metrics.c > 0") == And((a, b, c))
    assert parse_filter("((metrics.a > 0))") == a
    assert parse_filter("NOT(metrics.a > 0)") == Not(a)


def test_comparison_records_its_position() -> None:
    expr = parse_filter("metrics.a > 0 AND  tags.t = 'x'")
    assert isinstance(expr, And)
    assert [c.position for c in expr.operands if isinstance(c, Comparison)] == [0, 19]


def test_status_values_are_validated_but_like_is_free() -> None:
    assert parse_filter("attributes.status IN ('FINISHED', 'FAILED')") == C(
        "attribute", "status", "IN", ("FINISHED", "FAILED")
    )
    assert parse_filter("attributes.status LIKE 'FIN%'") == C("attribute", "status", "LIKE", "FIN%")


def test_string_comparisons_allow_order_operators_on_params() -> None:
    assert parse_filter("params.p < 'b'") == C("param", "p", "<", "b")


# ---------------------------------------------------------------------------------- errors


def error(text: str) -> FilterSyntaxError:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert isinstance(info.value, InvalidInput)
    return info.value


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("metrics.loss foo 1", 13, "expected a comparison operator at position 13, found 'foo'"),
        ("metrics.loss", 12, "expected a comparison operator at position 12, found end of input"),
        ("metrics.loss >", 14, "expected a value"),
        ("metrics.a > 1 metrics.b > 2", 14, "expected AND, OR or the end of the filter"),
        ("(metrics.a > 1", 14, "expected ')' or AND/OR at position 14, found end of input"),
        ("metrics.a > 1)", 13, "found ')'"),
        ("metrics.a > 1 AND", 17, "expected an identifier"),
        ("foo.x = 1", 0, "expected an identifier such as metrics.<name>"),
        ("foo = 1", 0, "found 'foo'"),
        ("metrics. `x` = 1", 9, "expected a name after 'metrics.'"),
        ("metrics.'x' = 1", 8, "expected a name after 'metrics.'"),
        ("metrics.`` = 1", 8, "expected a non-empty name"),
        ("attributes.colour = 'x'", 0, "expected an attribute"),
        ("datasets.size = 'x'", 0, "expected a dataset field"),
        ("tags.t = 'open", 9, "expected a closing ' for the one at position 9"),
        ("tags.`t = 'x'", 5, "expected a closing `"),
        ("metrics.a == 1", 10, "expected '='"),
        ("metrics.a ! 1", 10, "expected '!='"),
        ("metrics.a > 1 & metrics.b > 1", 14, "found '&'"),
        ("metrics.a > 1abc", 12, "expected a number at position 12, found '1abc'"),
        ("metrics.a > 1.2.3", 12, "expected a number"),
        ("metrics.a > 1e999", 12, "expected a finite number"),
        ("metrics.a > " + "9" * 5000, 12, "expected a finite number"),
        ("metrics.a > \u00b2", 12, "found '\u00b2'"),
        ("metrics.a > 1\u0663", 12, "expected a number"),
        ("metrics.a IN 1", 13, "expected '(' after IN"),
        ("metrics.a IN ()", 14, "expected a value"),
        ("metrics.a IN (1,)", 16, "expected a value"),
        ("metrics.a IN (1 2)", 16, "expected ',' or ')' to close the list"),
        ("metrics.a IN (1, NULL)", 17, "NULL"),
        ("metrics.a IS 1", 13, "expected NULL or NOT NULL"),
        ("metrics.a IS NOT 1", 17, "expected NULL at position 17"),
        ("metrics.a NOT = 1", 14, "expected LIKE, ILIKE or IN after NOT"),
        ("metrics.a > NULL", 12, "NULL works only with =, != and IS"),
        ("tags.t = 'a\x00b'", 11, "NUL"),
        ("tags.t LIKE 'a\\\\'", 12, "after the final '\\'"),
        ("AND metrics.a > 1", 0, "expected an identifier"),
        ("()", 1, "expected an identifier"),
        ("NOT", 3, "found end of input"),
    ],
)
def test_syntax_errors(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert err.position == position
    assert fragment in err.message
    assert f"at position {position}" in err.message
    assert err.text == text
    assert err.message.rstrip().endswith("^")  # the caret under the culprit


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("metrics.loss > 'a'", 15, "metrics compare with numbers: expected a number"),
        ("metrics.loss LIKE '%'", 13, "metrics cannot use LIKE"),
        ("metrics.loss NOT ILIKE '%'", 13, "metrics cannot use NOT ILIKE"),
        ("params.lr = 0.1", 12, "found 0.1 (write '0.1')"),
        ("tags.t IN ('a', 1)", 16, "tags compare with strings"),
        ("datasets.name = 3", 16, "datasets compare with strings"),
        ("attributes.start_time > '5'", 24, "attribute start_time compare with numbers"),
        ("attributes.end_time LIKE '5'", 20, "attribute end_time cannot use LIKE"),
        ("attributes.status = 'DONE'", 20, "expected a run status"),
        ("attributes.status IN ('RUNNING', 'running')", 33, "expected a run status"),
        ("attributes.experiment_id = 'abc'", 27, "integer id"),
        ("attributes.experiment_id = 1.5", 27, "integer id"),
        ("attributes.experiment_id > 1", 25, "attribute experiment_id cannot use >"),
    ],
)
def test_type_errors(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert err.position == position
    assert fragment in err.message
    assert isinstance(err, InvalidInput)


def test_too_long_filter() -> None:
    text = "metrics.a > 1 OR " * (MAX_FILTER_LENGTH // 17) + "metrics.a > 1"
    assert "limit" in error(text).message


def test_nesting_limit() -> None:
    ok = "(" * MAX_NESTING + "metrics.a > 1" + ")" * MAX_NESTING
    assert parse_filter(ok) == C("metric", "a", ">", 1.0)
    deep = "(" * (MAX_NESTING + 1) + "metrics.a > 1" + ")" * (MAX_NESTING + 1)
    assert error(deep).position == MAX_NESTING + 1
    assert "levels" in error("NOT " * (MAX_NESTING + 1) + "metrics.a > 1").message


def test_tokenizer_positions() -> None:
    toks = tokenize("metrics.`a b`>=-1 AND")
    assert [(t.kind, t.start, t.end) for t in toks] == [
        ("word", 0, 8),
        ("name", 8, 13),
        ("op", 13, 15),
        ("number", 15, 17),
        ("word", 18, 21),
        ("end", 21, 21),
    ]


# -------------------------------------------------------------------------------- order by


def test_order_by() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []
    assert parse_order_by(
        [
            "metrics.loss DESC",
            "attributes.start_time",
            "params.lr ASC",
            "metrics.`val loss`",
            'tags."a b" desc',
            "start_time",
            "attr.name",
        ]
    ) == [
        OrderItem("metric", "loss", False),
        OrderItem("attribute", "start_time", True),
        OrderItem("param", "lr", True),
        OrderItem("metric", "val loss", True),
        OrderItem("tag", "a b", False),
        OrderItem("attribute", "start_time", True),
        OrderItem("attribute", "run_name", True),
    ]


@pytest.mark.parametrize(
    "item, position, fragment",
    [
        ("metrics.loss DOWN", 13, "expected ASC, DESC or the end of the order_by item"),
        ("metrics.loss DESC ASC", 18, "found 'ASC'"),
        ("datasets.name", 0, "datasets cannot be ordered by"),
        ("", 0, "expected an order_by item"),
        ("loss", 0, "expected an identifier"),
        ("attributes.nope", 0, "expected an attribute"),
    ],
)
def test_order_by_errors(item: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_order_by([item])
    assert info.value.position == position
    assert fragment in info.value.message


def test_order_by_rejects_non_strings() -> None:
    with pytest.raises(FilterSyntaxError):
        parse_order_by([3])  # type: ignore[list-item]


# ------------------------------------------------------------------------------- fuzzing

VALID_FILTERS = [
    "metrics.loss > 0.5 AND params.lr = '0.01'",
    "tags.`my tag` LIKE 'a%' OR NOT metrics.\"val loss\" <= -1e-3",
    "attributes.status IN ('RUNNING', 'FINISHED') and attributes.end_time IS NULL",
    "(datasets.name ILIKE 'mn%' OR params.p NOT IN ('a', 'b')) AND tags.t IS NOT NULL",
    "run.experiment_id = '1' AND attr.start_time >= 100 AND name != 'x'",
    "params.opt NOT LIKE 'it''s \\% _' AND metrics.acc IN (1, 2.5)",
]
ALPHABET = st.sampled_from(
    list("metricsparamtgoulndx.`\"'()<>=!, -+_%\\0123456789eE\n\t")
    + ["AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "metrics.", "params.", "(", ")"]
)


@st.composite
def mutated_filters(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_FILTERS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        piece = "".join(draw(st.lists(ALPHABET, min_size=1, max_size=3)))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


_engine = create_engine("sqlite://")
schema.metadata.create_all(_engine)


def _check_never_crashes(text: str) -> None:
    try:
        expr = parse_filter(text)
    except FilterSyntaxError as e:
        assert e.position is None or 0 <= e.position <= len(text)
        assert "position" in e.message or e.position is None
        return
    # Whatever parses must also compile and run.
    stmt = apply_order_by(apply_filter(select(schema.runs.c.run_uuid), expr), [])
    with _engine.connect() as conn:
        conn.execute(stmt).all()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_filter_syntax_error(text: str) -> None:
    _check_never_crashes(text)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_token_soup_only_raises_filter_syntax_error(text: str) -> None:
    _check_never_crashes(text)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_filters())
def test_mutated_filters_only_raise_filter_syntax_error(text: str) -> None:
    _check_never_crashes(text)


@pytest.mark.parametrize("text", VALID_FILTERS)
def test_seed_filters_are_valid(text: str) -> None:
    assert parse_filter(text) is not None


@given(st.lists(st.text(max_size=30), max_size=3))
def test_order_by_only_raises_filter_syntax_error(items: list[str]) -> None:
    try:
        parse_order_by(items)
    except FilterSyntaxError:
        pass
