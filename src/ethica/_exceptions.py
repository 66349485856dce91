"""Errors and warnings raised by ethica.

Every error ethica raises derives from :class:`EthicaError` and also from the
built-in exception a Python user would expect to catch, so ``except ValueError``
keeps working::

    EthicaError
     ├── InvalidParameterError (ValueError)     a parameter value is out of its domain
     ├── SchemaError (ValueError)               a column is missing, of the wrong type or values
     ├── DataSourceError (OSError)              a file is missing, unreadable or malformed
     ├── MissingExtraError (ImportError)        an optional extra is not installed
     ├── NotFittedError (ValueError, AttributeError)   an estimator is used before fit
     ├── InfeasibleError (ValueError)           constraints or tables that cannot all hold
     ├── BudgetExceededError (RuntimeError)     a privacy charge larger than what remains
     ├── LedgerError (RuntimeError)             the budget ledger is corrupt, foreign or unwritable
     │    └── ReplayedRequestError               a request id already charged: not run again
     └── ReleaseFailedError (RuntimeError)      a charged release failed; the charge stands

    EthicaWarning (UserWarning)
     ├── SmallGroupWarning                      a group too small to judge
     ├── HighCardinalityWarning                 a protected column with very many values
     ├── ConvergenceWarning                     an iterative solver stopped early
     └── PrivacyWarning                         a release that protects less than it seems

Messages say what was wrong, show the offending value, and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BudgetExceededError",
    "ConvergenceWarning",
    "DataSourceError",
    "EthicaError",
    "EthicaWarning",
    "HighCardinalityWarning",
    "InfeasibleError",
    "InvalidParameterError",
    "LedgerError",
    "MissingExtraError",
    "NotFittedError",
    "PrivacyWarning",
    "ReleaseFailedError",
    "ReplayedRequestError",
    "SchemaError",
    "SmallGroupWarning",
]


class EthicaError(Exception):
    """Root of every error ethica raises."""


class InvalidParameterError(EthicaError, ValueError):
    """A parameter is outside its domain (e.g. ``epsilon <= 0``)."""


class SchemaError(EthicaError, ValueError):
    """A column is missing, or its type or values do not fit its role."""


class DataSourceError(EthicaError, OSError):
    """A data source cannot be found, opened or parsed."""


class MissingExtraError(EthicaError, ImportError):
    """An optional dependency is needed; the message names the install command."""


class NotFittedError(EthicaError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class InfeasibleError(EthicaError, ValueError):
    """Constraints (or published tables) that cannot all hold at once."""


class BudgetExceededError(EthicaError, RuntimeError):
    """A privacy charge larger than the budget that remains; nothing was released.

    Attributes
    ----------
    requested, remaining
        The budget asked for and the budget left, as typed budget values.
    """

    def __init__(self, message: str, *, requested: object, remaining: object) -> None:
        super().__init__(message)
        self.requested = requested
        self.remaining = remaining


class LedgerError(EthicaError, RuntimeError):
    """The budget ledger is corrupt, not an ethica ledger, or cannot be written."""


class ReplayedRequestError(LedgerError):
    """A request id that was already charged: the release does not run again.

    Attributes
    ----------
    record
        The stored :class:`~ethica.privacy.ChargeRecord` (its ``output``, if it completed).
    """

    def __init__(self, message: str, *, record: object) -> None:
        super().__init__(message)
        self.record = record


class ReleaseFailedError(EthicaError, RuntimeError):
    """A release failed after its budget was charged; the charge stands (``failed``).

    The message is generic on purpose: after the charge, anything that depends on the data
    (engine messages, values, counts) would leak outside the noisy answer.
    """


class EthicaWarning(UserWarning):
    """Root of every warning ethica emits."""


class SmallGroupWarning(EthicaWarning):
    """A group is smaller than the size needed to judge it."""


class HighCardinalityWarning(EthicaWarning):
    """A protected column has so many distinct values that it should be binned."""


class ConvergenceWarning(EthicaWarning):
    """An iterative algorithm stopped before meeting its tolerance."""


class PrivacyWarning(EthicaWarning):
    """A release that protects less than it seems (e.g. a budget so large the noise is 0)."""
