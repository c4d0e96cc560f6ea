"""The tabular-benchmark tables, declared with the rest of the schema in ``nasbench.store.models``.

Re-exported here until the bench code imports them from the store.
"""

from nasbench.store.models import RUN_STATES, BenchArchRow, BenchCurveRow, BenchmarkRow, BenchRunRow

__all__ = ["RUN_STATES", "BenchArchRow", "BenchCurveRow", "BenchRunRow", "BenchmarkRow"]
