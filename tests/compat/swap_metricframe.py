"""pytest plugin: fairlearn's ``MetricFrame`` replaced by ethica's, before tests import it.

Loaded with ``-p swap_metricframe`` in the child pytest that runs fairlearn's own test
files. Every place fairlearn binds the name (the public module, the private module, and the
modules whose functions build a MetricFrame: the fairness metrics and
``make_derived_metric``) gets ethica's class, so fairlearn's tests of those functions run
on ethica's class too. fairlearn's code is never copied: it is imported as installed.
"""

from __future__ import annotations

import importlib

from ethica.fairness import MetricFrame

for module_name in (
    "fairlearn.metrics",
    "fairlearn.metrics._metric_frame",
    "fairlearn.metrics._fairness_metrics",
    "fairlearn.metrics._make_derived_metric",
):
    module = importlib.import_module(module_name)
    if hasattr(module, "MetricFrame"):
        module.MetricFrame = MetricFrame  # type: ignore[attr-defined]
