"""Declared class labels and groups: which values occur in private data is never read.

A scikit-learn classifier learns ``classes_`` from ``np.unique(y)``. On private data that is a
data-dependent release (a label that only one person has reveals that person) and a
data-dependent refusal (``y`` with one class raises). The private classifiers therefore take
``classes=(negative, positive)``, declared in advance:

* **declared** (``classes=(0, 1)``, ``classes=("<=50K", ">50K")``): only ``y``'s dtype (a
  schema fact) is compared with the declaration, for free, before the charge; after the
  charge a row whose label is neither declared class is *dropped* (a row-local rule, like a
  row of an undeclared group), never refused;
* **not declared** (``classes=None``): ``classes_`` is read from ``y`` as scikit-learn does,
  and ``y`` must hold exactly two classes. That read is not protected, so it is refused when
  a ledger is charged: a fit that spends a registered budget must declare its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ethica._exceptions import InvalidParameterError
from ethica._typing import IndexArray, LabelArray
from ethica.fairness._learning_base import binary_labels

__all__ = [
    "check_declared_classes",
    "check_declared_groups",
    "code_labels",
    "declared_codes",
    "encode_declared",
    "protected_column",
]


def _is_text(values: Any) -> bool:
    return any(isinstance(v, str) for v in values)


def check_declared_classes(owner: str, classes: Any, y: Any) -> tuple[Any, Any]:
    """The declared ``(negative, positive)``, checked against ``y``'s dtype only (free)."""
    if (
        isinstance(classes, str)
        or not isinstance(classes, Sequence | np.ndarray)
        or len(classes) != 2
        or len(set(map(repr, classes))) != 2
    ):
        raise InvalidParameterError(
            f"{owner}(classes={classes!r}) must declare two distinct labels "
            "(negative, positive), e.g. classes=(0, 1) or classes=('<=50K', '>50K')."
        )
    kind = np.asarray(y).dtype.kind
    if (kind in "biuf" and _is_text(classes)) or (kind in "US" and not _is_text(classes)):
        raise InvalidParameterError(
            f"{owner}: y holds {'numbers' if kind in 'biuf' else 'text'} but "
            f"classes={tuple(classes)!r}; declare the labels y uses, e.g. "
            f"classes={('no', 'yes') if kind in 'US' else (0, 1)!r}."
        )
    return classes[0], classes[1]


def code_labels(
    owner: str, classes: Any, y: Any, *, charged: bool
) -> tuple[npt.NDArray[Any], LabelArray | None]:
    """``classes_`` and, when read from ``y``, the labels coded 0/1 (checks are free).

    Returns ``(classes_, coded)``: with declared classes ``coded`` is None (the caller codes
    ``y`` after the charge with :func:`declared_codes`); without, ``classes_`` is
    ``np.unique(y)`` (two classes required) and ``coded`` is ``y == classes_[1]``.
    ``charged`` says whether a ledger will be charged: reading the labels is then refused.
    """
    if classes is not None:
        return np.asarray(check_declared_classes(owner, classes, y)), None
    if charged:
        raise InvalidParameterError(
            f"{owner} charges a ledger but classes=None would read the set of labels from the "
            "private y (not protected by the budget); declare them, e.g. classes=(0, 1). "
            "Nothing was charged."
        )
    found, coded = binary_labels(y)
    return found, coded


def declared_codes(classes: npt.NDArray[Any], y: Any) -> tuple[LabelArray, npt.NDArray[np.bool_]]:
    """After the charge: ``y`` coded 0/1 against the declared classes, and the rows kept
    (those whose label is one of them; any other label drops its row)."""
    targets = np.asarray(y)
    positive = targets == classes[1]
    keep = positive | (targets == classes[0])
    return positive.astype(np.int8), np.asarray(keep, dtype=bool)


def check_declared_groups(owner: str, groups: Any) -> list[Any]:
    """The declared protected groups (public): at least two, none twice."""
    if groups is None or isinstance(groups, str) or len(groups) < 2:
        raise InvalidParameterError(
            f"{owner}(groups={groups!r}) must list at least two protected groups, "
            "declared in advance (public), e.g. groups=['Female', 'Male']."
        )
    declared = list(groups)
    if len(set(map(repr, declared))) != len(declared):
        raise InvalidParameterError(f"{owner}(groups={declared!r}) lists a group twice.")
    return declared


def encode_declared(protected: npt.NDArray[Any], groups: list[Any]) -> IndexArray:
    """Index of each value in ``groups``, -1 for any other value (NULL included)."""
    lookup: dict[Any, int] = {}
    for index, value in enumerate(groups):
        lookup.setdefault(value, index)
    codes = np.full(protected.shape[0], -1, dtype=np.intp)
    for i, value in enumerate(protected.tolist()):
        try:
            codes[i] = lookup.get(value, -1)
        except TypeError:  # unhashable: not a declared group
            codes[i] = -1
    return codes


def protected_column(sensitive_features: Any) -> npt.NDArray[Any]:
    """The protected attribute as a 1-D object array (a one-column 2-D input is flattened;
    other shapes are left for the caller to refuse)."""
    protected = np.asarray(sensitive_features, dtype=object)
    if protected.ndim == 2 and protected.shape[1] == 1:
        protected = protected[:, 0]
    return protected
