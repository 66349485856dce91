"""Review C, area 1: DP quantile binning in synthesis (commit 7d53efc).

Reproductions of findings; each now guards its fix.
"""

from __future__ import annotations

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy.synth._binning import binning_share


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_an_infinite_binning_share_is_refused_with_the_free_check_message(value: object) -> None:
    """``Fraction(inf)`` raises OverflowError, which binning_share does not catch: the free
    check escapes as a non-Ethica error instead of "binning_share must lie in (0, 1)"."""
    with pytest.raises(InvalidParameterError, match="binning_share"):
        binning_share(value)
