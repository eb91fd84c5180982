"""Compiler tests: filters and order_by run against real SQLite and PostgreSQL databases filled
with plain inserts."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from jupyter_mm.core import schema
from jupyter_mm.core.search import apply_filter, apply_order_by, parse_filter, parse_order_by
from jupyter_mm.core.search.compiler import like_to_glob
from jupyter_mm.errors import InvalidInput
from tests.support.postgres import create_database

NAN = float("nan")
R1, R2, R3, R4 = (f"{i:032x}" for i in (1, 2, 3, 4))

RUNS = [
    dict(run_uuid=R1, name="Alpha", experiment_id=1, user_id="ann", status="FINISHED",
         start_time=100, end_time=200, lifecycle_stage="active", parent_run_id=None,
         notes="first run"),
    dict(run_uuid=R2, name="beta", experiment_id=1, user_id="bob", status="RUNNING",
         start_time=300, end_time=None, lifecycle_stage="active", parent_run_id=R1, notes=""),
    dict(run_uuid=R3, name="gamma_1", experiment_id=2, user_id="ann", status="FAILED",
         start_time=200, end_time=250, lifecycle_stage="deleted", parent_run_id=None, notes=""),
    dict(run_uuid=R4, name="delta", experiment_id=2, user_id="", status="KILLED",
         start_time=300, end_time=400, lifecycle_stage="active", parent_run_id=None, notes=""),
]  # fmt: skip
METRICS = {
    R1: {"loss": 0.5, "acc": 0.9, "val loss": 0.4},
    R2: {"loss": 0.3, "acc": NAN},
    R3: {"loss": 1.5},
}
PARAMS = {
    R1: {"lr": "0.01", "opt": "Adam"},
    R2: {"lr": "0.1", "opt": "adam"},
    R3: {"lr": "1e-3", "q": "it's", "path": "a\\b"},
}
TAGS = {
    R1: {"team": "Vision", "my tag": "x*y"},
    R2: {"team": "vision"},
    R3: {"team": "50%", "note": "a[b]?"},
    R4: {"note": "ab"},
}
INPUTS = [
    dict(run_uuid=R1, digest="d1", context="train", name="mnist"),
    dict(run_uuid=R2, digest="d2", context="eval", name="MNIST-test"),
]


def populate(engine: Engine, metrics: dict[str, dict[str, float]] = METRICS) -> None:
    def rows(data: dict[str, dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        return [
            dict(run_uuid=r, key=k, value=None if v != v else v, **extra)
            for r, kv in data.items()
            for k, v in kv.items()
        ]

    with engine.begin() as conn:
        for table in (schema.run_inputs, schema.datasets, schema.latest_metrics, schema.params):
            conn.execute(delete(table))
        conn.execute(delete(schema.tags))
        conn.execute(delete(schema.runs))
        conn.execute(delete(schema.experiments))
        conn.execute(
            insert(schema.experiments),
            [
                dict(experiment_id=i, name=f"e{i}", creation_time=0, last_update_time=0)
                for i in (1, 2)
            ],
        )
        conn.execute(insert(schema.runs), RUNS)
        if metrics:
            conn.execute(insert(schema.latest_metrics), rows(metrics, step=0, timestamp=0))
        conn.execute(insert(schema.params), rows(PARAMS))
        conn.execute(insert(schema.tags), rows(TAGS))
        conn.execute(
            insert(schema.datasets),
            [dict(digest=d, name=n, created_time=0) for d, n in (("d1", "mnist"), ("d2", "MNIST"))],
        )
        conn.execute(insert(schema.run_inputs), INPUTS)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The same data on a real SQLite file and on the test PostgreSQL server."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("search") / "store.db"
        eng = create_engine(f"sqlite:///{path}")
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        eng = create_engine(create_database(admin, "mm_search_compiler"))
    schema.metadata.create_all(eng)
    populate(eng)
    yield eng
    eng.dispose()


def search(
    engine: Engine, filter_string: str | None, order_by: list[str] | None = None
) -> list[str]:
    stmt = select(schema.runs.c.run_uuid)
    stmt = apply_order_by(apply_filter(stmt, parse_filter(filter_string)), parse_order_by(order_by))
    with engine.connect() as conn:
        return list(conn.scalars(stmt))


def matches(engine: Engine, filter_string: str | None) -> set[str]:
    return set(search(engine, filter_string))


# ------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    "f, expected",
    [
        ("metrics.loss = 0.5", {R1}),
        ("metrics.loss != 0.5", {R2, R3}),
        ("metrics.loss <> 0.5", {R2, R3}),
        ("metrics.loss < 0.5", {R2}),
        ("metrics.loss <= 0.5", {R1, R2}),
        ("metrics.loss > 0.5", {R3}),
        ("metrics.loss >= 0.5", {R1, R3}),
        ("metrics.loss > -1e3", {R1, R2, R3}),
        ("metrics.loss IN (0.3, 1.5, 7)", {R2, R3}),
        ("metrics.loss NOT IN (0.3, 1.5)", {R1}),
        ("metrics.loss IS NULL", {R4}),
        ("metrics.loss IS NOT NULL", {R1, R2, R3}),
        ("metrics.loss = NULL", {R4}),
        ("NOT metrics.loss > 0.4", {R2, R4}),
        ("metrics.nope > 0", set()),
        ("metrics.nope IS NULL", {R1, R2, R3, R4}),
    ],
)
def test_metric_operators(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        ("metrics.acc > 0", {R1}),
        ("metrics.acc <= 1", {R1}),
        ("metrics.acc != 0.9", set()),  # NaN never compares, not even with !=
        ("metrics.acc NOT IN (0.9)", set()),
        ("NOT metrics.acc > 0", {R2, R3, R4}),
        ("metrics.acc IS NULL", {R3, R4}),  # NaN is a value: IS NULL means "absent"
        ("metrics.acc IS NOT NULL", {R1, R2}),
    ],
)
def test_nan_metrics(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        ("params.lr = '0.1'", {R2}),
        ("params.lr != '0.1'", {R1, R3}),
        ("params.lr < '0.1'", {R1}),
        ("params.lr >= '0.1'", {R2, R3}),
        ("params.lr IN ('0.1', '1e-3')", {R2, R3}),
        ("params.lr NOT IN ('0.1')", {R1, R3}),
        ("params.lr IS NULL", {R4}),
        ("param.opt IS NOT NULL", {R1, R2}),
        ("parameters.opt LIKE 'Ad%'", {R1}),
        ("params.opt LIKE 'ad%'", {R2}),
        ("params.opt LIKE 'ADAM'", set()),
        ("params.opt LIKE '_dam'", {R1, R2}),
        ("params.opt NOT LIKE 'Ad%'", {R2}),
        ("params.opt ILIKE 'AD%'", {R1, R2}),
        ("params.opt ILIKE 'adam'", {R1, R2}),
        ("params.opt NOT ILIKE 'AD%'", set()),
        ("params.q = 'it''s'", {R3}),
        ('params.q = "it\'s"', {R3}),
        ("params.q = 'it\\'s'", {R3}),
        ("params.path = 'a\\\\b'", {R3}),
        ("params.path LIKE 'a\\\\\\\\b'", {R3}),  # LIKE needs the backslash escaped again
        ("params.opt = 'x'' OR 1=1 --'", set()),
    ],
)
def test_param_operators(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        ("tags.team = 'Vision'", {R1}),
        ("tags.team LIKE 'V%'", {R1}),
        ("tags.team LIKE 'v%'", {R2}),
        ("tags.team ILIKE 'v%'", {R1, R2}),
        ("tags.team LIKE '%sion'", {R1, R2}),
        ("tags.team LIKE '50\\%'", {R3}),  # escaped %: literal
        ("tags.team LIKE '5_\\%'", {R3}),
        ("tags.team LIKE '5\\_%'", set()),
        ("tags.team ILIKE '50\\%'", {R3}),
        ("tags.`my tag` LIKE 'x*y'", {R1}),  # GLOB metacharacters stay literal
        ("tags.`my tag` LIKE 'x?y'", set()),
        ("tags.\"my tag\" = 'x*y'", {R1}),
        ("tags.note LIKE 'a[b]%'", {R3}),
        ("tags.note LIKE 'a[b]?'", {R3}),
        ("tags.note LIKE 'ab'", {R4}),
        ("tags.note IN ('ab', 'zz')", {R4}),
        ("tags.team NOT IN ('Vision', 'vision')", {R3}),
        ("tags.team IS NULL", {R4}),
    ],
)
def test_tag_operators(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        (f"attributes.run_id = '{R1}'", {R1}),
        (f"attributes.run_id IN ('{R1}', '{R3}')", {R1, R3}),
        ("attributes.run_name = 'Alpha'", {R1}),
        ("attributes.name LIKE 'alpha'", set()),
        ("attributes.name ILIKE 'alpha'", {R1}),
        ("run.name LIKE 'gamma\\_1'", {R3}),
        ("attr.name LIKE 'bet_'", {R2}),
        ("attributes.status = 'RUNNING'", {R2}),
        ("attributes.status != 'RUNNING'", {R1, R3, R4}),
        ("attributes.status IN ('FAILED', 'KILLED')", {R3, R4}),
        ("attributes.status NOT IN ('FAILED', 'KILLED')", {R1, R2}),
        ("attributes.start_time >= 200", {R2, R3, R4}),
        ("attributes.start_time = 300", {R2, R4}),
        ("attributes.start_time IN (100, 200)", {R1, R3}),
        ("attributes.end_time < 300", {R1, R3}),
        ("attributes.end_time IS NULL", {R2}),
        ("attributes.end_time IS NOT NULL", {R1, R3, R4}),
        ("NOT attributes.end_time > 220", {R1, R2}),  # a NULL end_time fails the comparison
        ("attributes.end_time != 200", {R3, R4}),
        ("attributes.user_id = ''", {R4}),
        ("attributes.user_id = 'ann'", {R1, R3}),
        ("attributes.experiment_id = '2'", {R3, R4}),
        ("attributes.experiment_id IN (1)", {R1, R2}),
        ("attributes.experiment_id != 1", {R3, R4}),
        ("attributes.lifecycle_stage = 'deleted'", {R3}),
        (f"attributes.parent_run_id = '{R1}'", {R2}),
        ("attributes.parent_run_id IS NULL", {R1, R3, R4}),
        ("NOT attributes.parent_run_id = 'x'", {R1, R2, R3, R4}),
        ("attributes.notes LIKE '%run'", {R1}),
        ("start_time > 250 AND status = 'KILLED'", {R4}),
    ],
)
def test_attribute_operators(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        ("datasets.name = 'mnist'", {R1}),
        ("datasets.name LIKE 'mnist%'", {R1}),
        ("datasets.name ILIKE 'mnist%'", {R1, R2}),
        ("datasets.digest IN ('d2', 'd9')", {R2}),
        ("datasets.context = 'eval'", {R2}),
        ("datasets.context != 'eval'", {R1}),
        ("datasets.name IS NULL", {R3, R4}),
        ("datasets.name IS NOT NULL", {R1, R2}),
    ],
)
def test_dataset_filters(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        ("metrics.`val loss` < 1", {R1}),
        ('metrics."val loss" < 1', {R1}),
        ("metrics.loss < 1 AND params.opt ILIKE 'adam'", {R1, R2}),
        ("metrics.loss > 1 OR tags.team = 'Vision' AND params.lr = '0.01'", {R1, R3}),
        ("(metrics.loss > 1 OR tags.team = 'Vision') AND params.lr = '0.1'", set()),
        ("NOT (metrics.loss > 1 OR tags.team = 'Vision')", {R2, R4}),
        ("metrics.loss > 0 and metrics.loss < 1 and metrics.acc > 0", {R1}),
    ],
)
def test_combinations_and_quoting(engine: Engine, f: str, expected: set[str]) -> None:
    assert matches(engine, f) == expected


def test_values_are_bound_parameters() -> None:
    stmt = apply_filter(select(schema.runs), parse_filter("params.p = 'x'' OR 1=1 --'"))
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert "OR 1=1" not in sql and "'p'" not in sql
    assert "EXISTS" in sql


def test_cached_like_statements_rebind_their_patterns(engine: Engine) -> None:
    # Both patterns ride in one element; the statement cache must still use the new ones.
    assert matches(engine, "params.opt LIKE 'A%'") == {R1}
    assert matches(engine, "params.opt LIKE 'a%'") == {R2}
    assert matches(engine, "params.opt LIKE 'A%'") == {R1}


def test_like_compiles_per_dialect() -> None:
    stmt = apply_filter(select(schema.runs), parse_filter("tags.t LIKE 'a%'"))
    assert "GLOB" in str(stmt.compile(dialect=sqlite.dialect()))
    pg = str(stmt.compile(dialect=postgresql.dialect()))
    assert "LIKE" in pg and "GLOB" not in pg and "ESCAPE" in pg
    ilike = apply_filter(select(schema.runs), parse_filter("tags.t ILIKE 'a%'"))
    assert "ILIKE" in str(ilike.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize(
    "like, glob",
    [
        ("abc", "abc"),
        ("a%b_", "a*b?"),
        ("a*b?c[d]", "a[*]b[?]c[[]d]"),
        ("50\\%", "50%"),
        ("a\\_b", "a_b"),
        ("a\\\\b", "a\\b"),
        ("\\*", "[*]"),
    ],
)
def test_like_to_glob(like: str, glob: str) -> None:
    assert like_to_glob(like) == glob


def test_no_filter_selects_everything(engine: Engine) -> None:
    assert matches(engine, None) == matches(engine, "  ") == {R1, R2, R3, R4}


# ------------------------------------------------------------------------------ order by


@pytest.mark.parametrize(
    "order_by, expected",
    [
        ([], [R2, R4, R3, R1]),  # start_time DESC, then run_uuid
        (["metrics.loss"], [R2, R1, R3, R4]),  # missing last
        (["metrics.loss DESC"], [R3, R1, R2, R4]),  # still last
        (["metrics.acc"], [R1, R2, R4, R3]),  # NaN after numbers, missing after NaN
        (["metrics.acc DESC"], [R1, R2, R4, R3]),
        (["metrics.`val loss` ASC"], [R1, R2, R4, R3]),
        (["params.lr"], [R1, R2, R3, R4]),
        (["params.lr DESC"], [R3, R2, R1, R4]),
        (["tags.team"], [R3, R1, R2, R4]),
        (["attributes.end_time"], [R1, R3, R4, R2]),
        (["attributes.end_time DESC"], [R4, R3, R1, R2]),
        (["attributes.start_time ASC"], [R1, R3, R2, R4]),
        (["attributes.run_name"], [R1, R2, R4, R3]),
        (["attributes.experiment_id"], [R2, R1, R4, R3]),  # ties broken by start_time DESC
        (["attributes.user_id", "metrics.loss DESC"], [R4, R3, R1, R2]),
        (["attributes.user_id DESC", "metrics.loss"], [R2, R1, R3, R4]),
        (["metrics.loss", "metrics.loss DESC"], [R2, R1, R3, R4]),
    ],
)
def test_order_by(engine: Engine, order_by: list[str], expected: list[str]) -> None:
    assert search(engine, None, order_by) == expected


def test_filter_and_order_by_on_the_same_key(engine: Engine) -> None:
    assert search(engine, "metrics.loss < 1", ["metrics.loss DESC"]) == [R1, R2]
    assert search(engine, "params.opt ILIKE 'adam'", ["params.opt", "tags.team"]) == [R1, R2]


def test_deepest_and_longest_filters_run(engine: Engine) -> None:
    from jupyter_mm.core.limits import MAX_FILTER_LENGTH
    from jupyter_mm.core.search.parser import MAX_NESTING

    nested = (
        "".join(f"metrics.x{i} > 1 {'OR' if i % 2 else 'AND'} (" for i in range(MAX_NESTING))
        + "metrics.loss > 1"
        + ")" * MAX_NESTING
    )
    assert search(engine, nested) == []
    terms = (f"NOT params.p{i} LIKE 'a%' AND NOT metrics.m{i} IN (1, 2)" for i in range(1000))
    longest = " OR ".join(terms)[:MAX_FILTER_LENGTH].rsplit(" OR ", 1)[0]
    assert len(search(engine, longest, ["metrics.loss", "params.lr"])) == 4


def test_order_by_datasets_is_refused() -> None:
    from jupyter_mm.core.search import OrderItem

    with pytest.raises(InvalidInput):
        apply_order_by(select(schema.runs), [OrderItem("dataset", "name")])


# ------------------------------------------------- property: precedence matches Python's

KEYS = ("a0", "a1", "a2")
VALUES = (-1.0, 0.0, 0.5, 1.0, 2.0)
OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<>": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def metric_holds(data: dict[str, float], key: str, op: str, value: float) -> bool:
    """The documented semantics: an absent or NaN metric fails every comparison."""
    if op in ("IS NULL", "IS NOT NULL"):
        return (key in data) == (op == "IS NOT NULL")
    v = data.get(key)
    return v is not None and not math.isnan(v) and OPS[op](v, value)


@st.composite
def atoms(draw: st.DrawFn) -> tuple[str, str]:
    key = draw(st.sampled_from(KEYS))
    prefix = draw(st.sampled_from(["metrics", "metric", "METRICS"]))
    op = draw(st.sampled_from([*OPS, "IS NULL", "IS NOT NULL"]))
    if op.startswith("IS"):
        return f"{prefix}.{key} {op}", f"m({key!r}, {op!r}, 0.0)"
    v = draw(st.sampled_from(VALUES))
    return f"{prefix}.{key} {op} {v}", f"m({key!r}, {op!r}, {v})"


def keyword(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.lower(), word.capitalize()])


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, str]:
    """A chain of (possibly negated, possibly parenthesised) terms joined by AND/OR.

    Parentheses appear only around sub-chains, never to spell out precedence, so the grouping
    of the mixed AND/OR/NOT chain is left entirely to the parser (and to Python).
    """
    sql: list[str] = []
    py: list[str] = []
    for i in range(draw(st.integers(1, 6 if depth == 0 else 3))):
        if i:
            word = draw(st.sampled_from(["AND", "OR"]))
            sql.append(draw(keyword(word)))
            py.append(word.lower())
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
            sql.append(draw(keyword("NOT")))
            py.append("not")
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            s, p = draw(expressions(depth + 1))
            sql.append(f"({s})")
            py.append(f"({p})")
        else:
            s, p = draw(atoms())
            sql.append(s)
            py.append(p)
    return " ".join(sql), " ".join(py)


metric_values = st.sampled_from([None, NAN, *VALUES])  # None = the run lacks the metric
run_metrics = st.lists(
    st.tuples(*(metric_values for _ in KEYS)).map(
        lambda vs: {k: v for k, v in zip(KEYS, vs, strict=True) if v is not None}
    ),
    min_size=8,
    max_size=8,
)

_memory = create_engine("sqlite://")
schema.metadata.create_all(_memory)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions(), data=run_metrics)
def test_boolean_logic_matches_python(expr: tuple[str, str], data: list[dict[str, float]]) -> None:
    filter_string, python = expr
    run_ids = [f"{i:032x}" for i in range(len(data))]
    with _memory.begin() as conn:
        conn.execute(delete(schema.latest_metrics))
        conn.execute(delete(schema.runs))
        conn.execute(
            insert(schema.runs),
            [dict(run_uuid=r, name=r, experiment_id=1, status="RUNNING", start_time=0)
             for r in run_ids],
        )  # fmt: skip
        rows = [
            dict(run_uuid=r, key=k, value=None if math.isnan(v) else v, step=0, timestamp=0)
            for r, metrics in zip(run_ids, data, strict=True)
            for k, v in metrics.items()
        ]
        if rows:
            conn.execute(insert(schema.latest_metrics), rows)
    got = set(search(_memory, filter_string))
    code = compile(python, "<filter>", "eval")
    expected = {
        r
        for r, metrics in zip(run_ids, data, strict=True)
        if eval(
            code, {"__builtins__": {}, "m": lambda k, op, v, d=metrics: metric_holds(d, k, op, v)}
        )
    }
    assert got == expected, (filter_string, python)
