"""End-to-end workflows: data, science and report put together for the CLI and the demo.

Sits between :mod:`ethica.cli` (which only parses, shows progress and writes files) and
the layers below (``report`` → ``fairness`` / ``privacy`` / ``attacks`` → ``data``).
Each module runs one story and returns result objects or report sections; none prints.

- ``_demo``: the whole demo page (``build_demo``), assembled from
  ``_demo_learning``, ``_demo_release`` and ``_demo_attacks``.
- ``_learning``: read, split and encode training data; frontier and proxies runs.
- ``_attack_census``, ``_attack_membership``, ``_census_release``: the attack commands'
  runs, including the DP census tables they are compared with.
"""

from __future__ import annotations
