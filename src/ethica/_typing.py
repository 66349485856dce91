"""Array type aliases shared by every package: one name per dtype.

========== ==================== ==================================================
alias      dtype                holds
========== ==================== ==================================================
FloatArray ``float64``          rates, scores, weights, costs
IntArray   ``int64``            counts
IndexArray ``intp``             indices and integer codes (groups, cells, events)
LabelArray ``int8``             binary labels and decisions coded 0/1
BoolArray  ``bool``             masks
========== ==================== ==================================================
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IndexArray", "IntArray", "LabelArray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
LabelArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]
