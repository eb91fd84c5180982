"""Each statistic against values computed by hand on small data and against scipy on large data,
and the awkward inputs: empty bins, unseen categories, constant columns, NaNs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring import statistics as st

REF = [50, 30, 20]  # proportions 0.5, 0.3, 0.2
CUR = [40, 40, 20]  # proportions 0.4, 0.4, 0.2


def test_psi_by_hand_with_bands_and_the_chi_square_critical_value() -> None:
    v = st.psi(REF, CUR, labels=["a", "b", "c"])
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.4 - 0.3) * math.log(0.4 / 0.3)
    assert v.statistic == pytest.approx(by_hand)  # 0.05108
    assert (v.band, v.drifted, v.threshold, v.warning) == ("ok", False, 0.25, 0.1)
    # chi2(2) at 95% = 5.991; times 1/100 + 1/100
    assert v.critical_value == pytest.approx(5.991464547 * 0.02)
    assert v.p_value == pytest.approx(stats.chi2.sf(by_hand / 0.02, 2))
    assert (v.n_reference, v.n_current) == (100, 100)
    assert v.bins is not None and v.bins.labels == ["a", "b", "c"]
    assert v.bins.reference == [0.5, 0.3, 0.2] and v.bins.current == [0.4, 0.4, 0.2]
    assert st.psi(REF, [35, 45, 20]).band == "warning"  # 0.114
    assert st.psi(REF, [5, 75, 20]).band == "drift"


def test_psi_empty_bin_is_clipped_to_epsilon() -> None:
    v = st.psi([50, 50, 0], [40, 40, 20])
    eps = st.EPSILON
    by_hand = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - eps) * math.log(0.2 / eps)
    assert v.statistic == pytest.approx(by_hand)
    assert math.isfinite(v.statistic) and v.drifted


def test_kl_js_hellinger_tvd_linf_by_hand() -> None:
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.4, 0.2])
    kl = 0.5 * math.log(0.5 / 0.4) + 0.3 * math.log(0.3 / 0.4)
    assert st.kl_div(REF, CUR).statistic == pytest.approx(kl)
    m = (p + q) / 2
    jsd = 0.5 * sum(p * np.log(p / m)) + 0.5 * sum(q * np.log(q / m))
    assert st.jensenshannon(REF, CUR).statistic == pytest.approx(math.sqrt(jsd))
    hel = math.sqrt(1 - (math.sqrt(0.2) + math.sqrt(0.12) + 0.2))
    assert st.hellinger(REF, CUR).statistic == pytest.approx(hel)
    assert st.tvd(REF, CUR).statistic == pytest.approx(0.1)
    assert st.tvd(REF, CUR).drifted  # >= 0.1
    assert st.l_infinity(REF, CUR).statistic == pytest.approx(0.1)
    assert st.l_infinity([50, 50], [50, 50]).statistic == 0.0


def test_chisquare_and_z_by_hand() -> None:
    # 2x2: [[30, 70], [50, 50]]; expected [[40, 60], [40, 60]]
    v = st.chisquare([30, 70], [50, 50])
    by_hand = 2 * (10**2 / 40) + 2 * (10**2 / 60)
    assert v.statistic == pytest.approx(by_hand)
    assert v.p_value == pytest.approx(stats.chi2.sf(by_hand, 1))
    assert v.drifted and v.direction == st.BELOW
    z = st.z_test([30, 70], [50, 50])
    pooled = 0.4
    z_hand = (0.5 - 0.3) / math.sqrt(pooled * 0.6 * (1 / 100 + 1 / 100))
    assert z.statistic == pytest.approx(z_hand)
    assert z.p_value == pytest.approx(2 * stats.norm.sf(z_hand))
    assert z.drifted


def test_ks_and_wasserstein_by_hand() -> None:
    ref, cur = [1.0, 2, 3, 4, 5], [3.0, 4, 5, 6, 7]
    ks = st.ks(ref, cur)
    # F_ref - F_cur at 2, 3, 4, 5 is 0.4 - 0, 0.6 - 0.2, 0.8 - 0.4, 1 - 0.6: D = 0.4
    assert ks.statistic == pytest.approx(0.4)
    # n·m/(n+m) = 2.5, rounded to 2; for n = 2, P(D <= d) = 2 (2d - 1/2)² on [1/4, 1/2]
    assert ks.p_value == pytest.approx(1 - 2 * (2 * 0.4 - 0.5) ** 2)  # 0.82
    assert (ks.n_reference, ks.n_current, ks.drifted, ks.notes) == (5, 5, False, [])
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert (ks.statistic, ks.p_value) == pytest.approx((expected.statistic, expected.pvalue))
    # W1 of a shift by 2 is 2; the reference's (population) std is sqrt(2)
    w = st.wasserstein(ref, cur)
    assert w.statistic == pytest.approx(2 / math.sqrt(2))
    assert w.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref))
    assert w.drifted and w.notes == []
    # unequal sizes: F_ref = 1/2, F_cur = 2/3 on [0, 1): W1 = 1/6, std = 1/2
    w = st.wasserstein([0.0, 1.0], [0.0, 0.0, 1.0])
    assert w.statistic == pytest.approx((1 / 6) / 0.5)
    assert stats.wasserstein_distance([0.0, 1.0], [0.0, 0.0, 1.0]) == pytest.approx(1 / 6)
    assert st.ks([0.0, 1.0], [0.0, 0.0, 1.0]).statistic == pytest.approx(1 / 6)


def test_ks_and_wasserstein_drop_nans_and_say_so() -> None:
    """NaNs mixed into raw arrays are dropped on both sides (the values compared are the
    non-null ones); the verdict carries both null rates and a note per side that had any."""
    ref = [1.0, 2, np.nan, 3, 4, 5]
    cur = [3.0, np.nan, np.nan, 4, 5, 6, 7]
    for fn in (st.ks, st.wasserstein):
        v, clean = fn(ref, cur), fn([1.0, 2, 3, 4, 5], [3.0, 4, 5, 6, 7])
        assert v.statistic == pytest.approx(clean.statistic) and v.p_value == clean.p_value
        assert (v.n_reference, v.n_current) == (5, 5)
        assert v.null_rate_reference == pytest.approx(1 / 6)
        assert v.null_rate_current == pytest.approx(2 / 7)
        assert v.notes == [
            "1 of 6 reference values are null, dropped", "2 of 7 current values are null, dropped"
        ]  # fmt: skip
        assert (clean.null_rate_reference, clean.null_rate_current, clean.notes) == (0.0, 0.0, [])
    # the frozen-quantile forms drop the current side's nulls the same way
    levels = [0.0, 0.25, 0.5, 0.75, 1.0]
    q = [1.0, 2, 3, 4, 5]
    for v in (st.ks_from_quantiles(levels, q, 5, cur), st.wasserstein_from_quantiles(levels, q,
              math.sqrt(2), 5, cur)):  # fmt: skip
        assert v.n_current == 5 and v.null_rate_current == pytest.approx(2 / 7)
        assert v.notes[-1] == "2 of 7 current values are null, dropped"


def test_unseen_category_stays_finite() -> None:
    """A category only the current data has ("other" with a reference count of 0): chi-square on
    the 2 x k table stays finite, PSI/KL use epsilon, JS/Hellinger/TVD use the real zero."""
    ref, cur = [60, 40, 0], [50, 30, 20]
    chi = st.chisquare(ref, cur)
    expected = stats.chi2_contingency(np.array([ref, cur]), correction=False)
    assert chi.statistic == pytest.approx(expected.statistic)
    assert chi.p_value == pytest.approx(expected.pvalue)
    assert st.tvd(ref, cur).statistic == pytest.approx(0.2)
    assert math.isfinite(st.psi(ref, cur).statistic)
    assert math.isfinite(st.kl_div(cur, ref).statistic)
    assert st.jensenshannon(ref, cur).statistic == pytest.approx(
        distance.jensenshannon([0.6, 0.4, 0.0], [0.5, 0.3, 0.2])
    )


def test_constant_and_identical_inputs() -> None:
    assert st.psi([100, 0], [50, 0]).statistic == 0.0
    assert st.chisquare([100, 0], [30, 0]).p_value == 1.0  # one non-empty bin
    z = st.z_test([100, 0], [30, 0])
    assert (z.statistic, z.p_value, z.drifted) == (0.0, 1.0, False)
    const = np.full(500, 3.0)
    assert st.ks(const, const).statistic == 0.0
    w = st.wasserstein(const, const + 0.01)
    assert w.statistic == pytest.approx(0.01 / st.STD_FLOOR)  # std floored, not a division by 0


def test_bad_counts_are_clear_errors() -> None:
    with pytest.raises(InvalidInput, match="same bins"):
        st.psi([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInput, match="non-negative"):
        st.psi([1, -2], [1, 2])
    with pytest.raises(InvalidInput, match="no rows"):
        st.psi([0, 0], [1, 2])
    with pytest.raises(InvalidInput, match="no non-null"):
        st.ks([np.nan, np.nan], [1.0, 2.0])


@pytest.fixture(scope="module")
def large() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.normal(650, 80, 200_000), rng.normal(645, 82, 150_000)


def test_continuous_statistics_match_scipy_on_large_data(large: tuple) -> None:
    ref, cur = large
    ks = st.ks(ref, cur)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert ks.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert ks.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    w = st.wasserstein(ref, cur)
    assert w.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / ref.std())


def test_statistics_from_frozen_quantiles_approach_the_raw_ones(large: tuple) -> None:
    """The profile's 100-strata grid: D within 0.01 of the exact D (never above it), Wasserstein
    within 2% of scipy's."""
    from jupyter_mm.monitoring.profile import QUANTILE_LEVELS

    ref, cur = large
    q = np.quantile(ref, QUANTILE_LEVELS)
    exact = stats.ks_2samp(ref, cur, method="asymp").statistic
    approx = st.ks_from_quantiles(QUANTILE_LEVELS, q, ref.size, cur)
    assert exact - 0.01 <= approx.statistic <= exact + 1e-12
    w = st.wasserstein_from_quantiles(QUANTILE_LEVELS, q, ref.std(), ref.size, cur)
    assert w.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / ref.std(), rel=0.02)


def test_binned_statistics_match_scipy_on_large_data(large: tuple) -> None:
    ref, cur = large
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10)
    p, q = rc / rc.sum(), cc / cc.sum()
    assert st.psi(rc, cc).statistic == pytest.approx(
        stats.entropy(p, q) + stats.entropy(q, p)  # PSI is the symmetrised KL (Jeffreys)
    )
    assert st.kl_div(rc, cc).statistic == pytest.approx(stats.entropy(p, q))
    assert st.jensenshannon(rc, cc).statistic == pytest.approx(distance.jensenshannon(p, q))
    assert st.jensenshannon(rc, cc, base=2).statistic == pytest.approx(
        distance.jensenshannon(p, q, base=2)
    )
    chi = st.chisquare(rc, cc)
    expected = stats.chi2_contingency(np.array([rc, cc]), correction=False)
    assert chi.statistic == pytest.approx(expected.statistic)
    assert chi.p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)
    # Σ(√p − √q)² = 2 − 2 Σ√(pq): Hellinger is scipy's Euclidean distance of the roots over √2
    assert st.hellinger(rc, cc).statistic == pytest.approx(
        distance.euclidean(np.sqrt(p), np.sqrt(q)) / math.sqrt(2)
    )
    assert st.tvd(rc, cc).statistic == pytest.approx(distance.cityblock(p, q) / 2)
    assert st.l_infinity(rc, cc).statistic == pytest.approx(distance.chebyshev(p, q))


def test_z_tvd_and_l_infinity_match_independent_computations_on_large_data() -> None:
    """From raw draws: the z-test against its definition on the raw counts and against scipy's
    2 x 2 chi-square (z² is Pearson's χ² without continuity correction, same p-value); TVD and
    L∞ of five categories against their definitions and scipy's cityblock / chebyshev."""
    rng = np.random.default_rng(4)
    ref = rng.random(200_000) < 0.30
    cur = rng.random(150_000) < 0.305
    k1, n1, k2, n2 = int(ref.sum()), ref.size, int(cur.sum()), cur.size
    z = st.z_test([k1, n1 - k1], [k2, n2 - k2])
    pooled = (k1 + k2) / (n1 + n2)
    by_definition = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert z.statistic == pytest.approx(by_definition, rel=1e-9)
    assert z.p_value == pytest.approx(2 * stats.norm.sf(abs(by_definition)), rel=1e-9)
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    chi = stats.chi2_contingency(table, correction=False)
    assert z.statistic**2 == pytest.approx(chi.statistic, rel=1e-9)
    assert z.p_value == pytest.approx(chi.pvalue, rel=1e-9)
    assert (z.n_reference, z.n_current) == (n1, n2)

    levels = np.array(list("abcde"))
    raw_ref = rng.choice(levels, 200_000, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    raw_cur = rng.choice(levels, 150_000, p=[0.36, 0.27, 0.16, 0.12, 0.09])
    rc = np.array([(raw_ref == lv).sum() for lv in levels])
    cc = np.array([(raw_cur == lv).sum() for lv in levels])
    p, q = rc / raw_ref.size, cc / raw_cur.size
    tvd = 0.5 * sum(abs(p[i] - q[i]) for i in range(5))
    linf = max(abs(p[i] - q[i]) for i in range(5))
    assert st.tvd(rc, cc).statistic == pytest.approx(tvd, rel=1e-12)
    assert st.tvd(rc, cc).statistic == pytest.approx(distance.cityblock(p, q) / 2, rel=1e-12)
    assert st.l_infinity(rc, cc).statistic == pytest.approx(linf, rel=1e-12)
    assert st.l_infinity(rc, cc).statistic == pytest.approx(distance.chebyshev(p, q), rel=1e-12)
    assert 0.03 < tvd < 0.06 and 0.03 < linf < 0.05  # the shift drawn, seen at this n
