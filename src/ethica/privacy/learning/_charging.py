"""Budgets, ledger charges and declared bounds shared by the private learners.

Every private learner follows the privacy contract (``DESIGN.md``) in this order:

1. **Free checks and calibration.** Hyper-parameters, the budget, declared bounds and the
   shapes of ``X`` and ``y`` are checked, and every noise parameter (scales, the Gamma norm's
   rate, DP-SGD's noise multiplier from the accountant, the grid's headroom) is computed and
   checked to be finite and within the samplers' range, before anything is charged: these
   depend only on public values, so a refusal costs nothing.
2. **Reserve.** With a ledger, :meth:`~ethica.privacy.Ledger.record_charge` records the
   cost against the registered dataset (atomically, refusing when it exceeds what remains).
3. **Read.** Only then are the private values used. A failure from here on is recorded with
   :meth:`~ethica.privacy.Ledger.fail` and raised as :class:`~ethica.ReleaseFailedError` with
   a generic message (nothing that depends on the data); the charge stands.
4. **Record.** :meth:`~ethica.privacy.Ledger.complete` stores the SHA-256 of the released
   coefficients.

Neighbouring data sets differ by adding or removing one row (ethica's ``Rows()`` unit).
The number of rows is never used as if it were public: where a learner needs it, it
releases a noisy count and pays for it inside the same budget.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._after_charge import after_charge
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.budget._ledger import Ledger
from ethica.privacy.noise import discrete_gaussian, discrete_laplace

__all__ = [
    "FAILED",
    "LIMIT",
    "SharedLedgerClone",
    "check_calibration",
    "check_positive",
    "clip_rows",
    "draw_noise",
    "finite_rows",
    "private_inputs",
    "private_rng",
    "resolve_budget",
    "run_charged",
]

T = TypeVar("T")


def private_inputs(
    estimator: Any, X: Any, y: Any, *, charged: bool, y_numeric: bool = False, dtype: Any = None
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """``X`` and ``y`` as arrays for a private fit.

    Without a ledger: scikit-learn's ``validate_data`` (its contract: NaN, inf and text are
    refused with its messages). With a ledger, no value is read before the charge (contract
    rule 1): the features (and a numeric ``y``) must be numeric by their *dtype*, a schema
    fact checked for free; NaN and inf are not looked for — :func:`finite_rows` drops the
    rows that hold them after the charge (a row-local rule, so the sensitivity is unchanged).
    """
    from sklearn.utils import check_consistent_length, column_or_1d
    from sklearn.utils.validation import validate_data

    kind = np.float64 if dtype is None else dtype
    if not charged:
        X_arr, y_arr = validate_data(estimator, X, y, dtype=kind, y_numeric=y_numeric)
        return X_arr, y_arr
    owner = type(estimator).__name__
    _refuse_non_numeric(owner, "X", X)
    if y_numeric:
        _refuse_non_numeric(owner, "y", y)
    X_arr = validate_data(estimator, X, reset=True, dtype=kind, ensure_all_finite=False)
    y_arr = column_or_1d(y, warn=True)
    check_consistent_length(X_arr, y_arr)
    return X_arr, (y_arr.astype(np.float64) if y_numeric else y_arr)


def _refuse_non_numeric(owner: str, name: str, values: Any) -> None:
    """Refuse by schema alone: an array's dtype or a frame's column dtypes (never values)."""
    if hasattr(values, "dtypes"):
        dtypes = list(values.dtypes)
    elif hasattr(values, "dtype"):
        dtypes = [values.dtype]
    else:  # a list has no schema: its type would be inferred from its values
        raise InvalidParameterError(
            f"{owner}: {name} is a {type(values).__name__}; a fit charged to a ledger takes a "
            "numeric NumPy array or DataFrame (its type is then a schema fact, not inferred "
            "from the values). Nothing was charged."
        )
    odd = sorted({str(d) for d in dtypes if getattr(d, "kind", "O") not in "biuf"})
    if odd:
        raise InvalidParameterError(
            f"{owner}: {name} has non-numeric dtype(s) {odd}; a fit charged to a ledger reads "
            f"no value before its charge, so it cannot convert text. Encode {name} as numbers "
            "(e.g. one-hot) first. Nothing was charged."
        )


def draw_noise(mechanism: str, scale: Fraction, size: int) -> npt.NDArray[np.int64]:
    """``size`` exact draws of a learner's calibrated noise: ``"discrete Laplace"`` (scale) or
    ``"discrete Gaussian"`` (sigma), from ethica's samplers (OS CSPRNG)."""
    if mechanism == "discrete Laplace":
        return np.asarray(discrete_laplace(scale, size), dtype=np.int64)
    return np.asarray(discrete_gaussian(scale, size), dtype=np.int64)


def finite_rows(X: npt.NDArray[Any], y: npt.NDArray[Any] | None = None) -> npt.NDArray[np.bool_]:
    """After the charge: the rows whose features (and numeric label) are all finite."""
    keep = np.all(np.isfinite(np.asarray(X, dtype=np.float64)), axis=1)
    if y is not None:
        keep &= np.isfinite(np.asarray(y, dtype=np.float64))
    return np.asarray(keep, dtype=bool)


class SharedLedgerClone:
    """Mixin for the private learners: :func:`sklearn.base.clone` keeps the ``ledger`` object.

    scikit-learn's default clone deep-copies non-estimator parameters, which would give each
    clone (in ``cross_validate``, a grid search) its own copy of a :class:`Ledger` instance:
    an unshared cache of what was charged. Clones here are built from the same parameters,
    so every fit charges the one ledger the user passed.
    """

    def __sklearn_clone__(self) -> Any:
        return type(self)(**self.get_params(deep=False))  # type: ignore[attr-defined]


FAILED = (
    "training failed after its budget was charged; the charge stands (status 'failed') and "
    "no model was released. The reason is not shown because it could depend on the private "
    "data; check the declared bounds and the hyper-parameters, then train again."
)


def check_positive(owner: str, name: str, value: Any, *, integer: bool = False) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is a finite number > 0."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or not math.isfinite(float(value))
        or value <= 0
    ):
        kind = "an integer" if integer else "a finite number"
        raise InvalidParameterError(f"{owner}({name}={value!r}) must be {kind} > 0; e.g. {name}=1.")


#: Largest magnitude a calibrated float (a noise scale, a ridge, a squared norm) may take:
#: far below float64's 1.8e308, so that every product formed after the charge stays finite.
LIMIT = 1e100


def check_calibration(owner: str, what: str, value: float, fix: str) -> float:
    """Refuse (before the charge) a calibrated parameter that is not finite and in
    ``(0, LIMIT]``: past the charge it would overflow, and the failure would cost the budget.

    ``what`` names the parameter and how it was derived; ``fix`` says what to change.
    """
    if not (math.isfinite(value) and 0 < value <= LIMIT):
        raise InvalidParameterError(
            f"{owner}: {what} = {value!r} is outside (0, {LIMIT:g}], so the noise cannot be "
            f"calibrated in float64; {fix}. Nothing was charged."
        )
    return value


def resolve_budget(owner: str, epsilon: Any, delta: Any, budget: Any) -> Budget:
    """The typed budget a fit spends: ``budget``, else ``PureDP(epsilon)`` (``epsilon``
    defaults to 1), else ``ApproxDP(epsilon, delta)`` when ``delta`` is given."""
    if budget is not None:
        if not isinstance(budget, Budget):
            raise InvalidParameterError(
                f"{owner}(budget={budget!r}) must be PureDP, ZCDP or ApproxDP, e.g. "
                "budget=PureDP(1)."
            )
        if epsilon is not None or delta is not None:
            raise InvalidParameterError(
                f"{owner} got budget={budget} and epsilon={epsilon!r}, delta={delta!r}; pass "
                "either a typed budget or epsilon (and delta), not both."
            )
        return budget
    value = 1.0 if epsilon is None else epsilon
    if delta is None:
        return PureDP(value)
    return ApproxDP(value, delta)


def clip_rows(X: npt.NDArray[np.float64], norm: float) -> npt.NDArray[np.float64]:
    """Scale every row whose Euclidean norm exceeds ``norm`` down to norm ``norm``.

    Rows inside the ball are unchanged; the result satisfies ``||x_i|| <= norm`` up to one
    rounding of the division (the learners leave a margin for it). Total on finite input:
    each row is first divided by its largest absolute entry ``a_i``, so no square overflows
    (``||x_i|| = a_i ||x_i / a_i||`` with ``1 <= ||x_i / a_i|| <= sqrt(p)``), and nothing
    raises or warns whatever the values.
    """
    with np.errstate(all="ignore"):
        largest = np.max(np.abs(X), axis=1) if X.shape[1] else np.zeros(X.shape[0])
        safe = np.where(largest > 0, largest, 1.0)
        unit = np.linalg.norm(X / safe[:, None], axis=1)  # ||x_i|| / a_i, in [1, sqrt(p)]
        ratio = norm / safe  # the bound in units of a_i (may underflow to 0: row -> 0)
        outside = (largest > 0) & (unit > ratio)
        factor = np.where(outside, ratio / np.where(unit > 0, unit, 1.0), 1.0)
        clipped: npt.NDArray[np.float64] = X * factor[:, None]
    return clipped


def private_rng() -> np.random.Generator:
    """A NumPy generator seeded with 256 bits from the OS CSPRNG (never from ``random_state``:
    noise an attacker could regenerate protects nothing)."""
    return np.random.default_rng(int.from_bytes(os.urandom(32), "little"))


def dyadic_below(value: float, bits: int = 40) -> Fraction:
    """The largest multiple of ``2**-bits`` not above ``value`` (a parameter never rounded up)."""
    return Fraction(math.floor(Fraction(value) * (1 << bits)), 1 << bits)


def check_ledger(owner: str, given: Any, dataset: Any, budget: Budget) -> Ledger | None:
    """The ledger to charge (opened from a path if needed), checked before any data is read."""
    if given is None:
        if dataset is not None:
            raise InvalidParameterError(
                f"{owner}(dataset={dataset!r}) needs a ledger to charge; pass "
                "ledger=Ledger(path) as well, or drop dataset."
            )
        return None
    if isinstance(given, Ledger):
        ledger = given
    elif isinstance(given, str | os.PathLike):
        ledger = Ledger(given)
    else:
        raise InvalidParameterError(
            f"{owner}(ledger={given!r}) must be an ethica Ledger or the path of one."
        )
    if not isinstance(dataset, str) or not dataset:
        raise InvalidParameterError(
            f"{owner} with a ledger needs the registered dataset's name: pass dataset='name' "
            "(register it once with Ledger.create_dataset('name', total))."
        )
    status = ledger.status(dataset)  # LedgerError naming the fix when unregistered
    if type(status.total) is not type(budget):
        raise InvalidParameterError(
            f"dataset {dataset!r} holds a {type(status.total).__name__} budget "
            f"({status.total}); this fit spends {budget}. Pass a "
            f"{type(status.total).__name__} budget (budget=...)."
        )
    unit = status.privacy_unit
    if unit is not None and unit.get("kind") != "rows":
        raise InvalidParameterError(
            f"dataset {dataset!r} protects users in column {unit.get('column')!r}; {owner} "
            "protects one row per person (privacy unit 'rows') only, so its charge would not "
            "cover a person with many rows. Train on a dataset registered with Rows()."
        )
    return ledger


def run_charged(
    ledger: Ledger | None,
    dataset: str | None,
    cost: Budget,
    description: str,
    train: Callable[[], T],
    *,
    released: Callable[[T], object],
) -> T:
    """Reserve ``cost`` on the ledger, then run ``train()`` (which reads the data).

    ``released(result)`` is what the ledger records as the output. Any exception in
    ``train`` marks the charge ``failed`` and becomes one generic :class:`ReleaseFailedError`
    with no chained exception (:func:`~ethica.privacy.budget._after_charge.after_charge`).
    Without a ledger only the error translation happens.
    """
    record = None
    if ledger is not None:
        assert dataset is not None
        record = ledger.record_charge(dataset, cost, description)

    def mark_failed() -> None:
        if record is not None and ledger is not None:
            ledger.fail(record.id, "training failed after the charge")

    result = after_charge(train, on_failure=mark_failed, message=FAILED)
    if record is not None and ledger is not None:
        ledger.complete(record.id, released(result))
    return result


def zcdp_of(budget: Budget) -> tuple[Fraction, Fraction | None]:
    """``(rho, delta)``: the zCDP level a Gaussian learner may spend under ``budget``.

    ``ZCDP(rho)`` is spent as is (``delta`` None). ``ApproxDP(epsilon, delta)`` becomes the
    largest ``rho`` (to 2**-40) whose tight conversion (:func:`~ethica.privacy.zcdp_to_approx`,
    Canonne, Kamath & Steinke 2020, Cor. 13) is within ``epsilon`` at ``delta``. Pure DP has
    no Gaussian mechanism (the caller refuses it).
    """
    from ethica.privacy.budget._accounting import _best_log_delta, zcdp_to_approx

    if isinstance(budget, ZCDP):
        return budget.rho, None
    assert isinstance(budget, ApproxDP)
    epsilon, delta = float(budget.epsilon), budget.delta
    target = math.log(delta.numerator) - math.log(delta.denominator) - 1e-6
    low, high = 0.0, epsilon  # rho-zCDP implies (rho + ..., delta): rho < epsilon
    for _ in range(80):  # fast float bisection; the exact check below has the last word
        mid = (low + high) / 2
        if _best_log_delta(mid, epsilon) <= target:
            low = mid
        else:
            high = mid
    rho = dyadic_below(low)
    while rho > 0 and not zcdp_to_approx(ZCDP(rho), delta).epsilon <= budget.epsilon:
        rho = dyadic_below(float(rho) * (1 - 1e-6))
    if rho <= 0:
        raise InvalidParameterError(
            f"{budget} is too small for any Gaussian noise; spend a larger epsilon or delta."
        )
    return rho, delta
