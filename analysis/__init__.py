"""zcbench analysis: reports and regression gating for zcbench result folders.

The package reads what the harness writes (``manifest.json`` + ``trials.jsonl``,
schema ``zcbench.run/1`` / ``zcbench.trial/2``, and ``zcbench.trial/1``) and nothing else; it never imports
or runs the C++ side. One concept per module:

``load``        read and validate run folders; malformed input becomes diagnostics
``metrics``     the metric catalogue: where a metric lives, its unit, its direction
``dataset``     trials grouped into measurement points across runs and hosts
``stats``       summary statistics, confidence intervals, ratio-of-medians intervals
``units``       human-readable numbers with units
``style``       fixed colours and line styles per strategy
``figures``     matplotlib figures for reports and comparisons
``document``    a small block model rendered to self-contained HTML and Markdown
``tables``      the report's tables (results, costs, failures, data quality)
``environment`` the report's environment section (host, paths, reproduce commands)
``report``      assembles and writes a report
``compare``     the statistical comparison of two runs and its verdicts
``cli``         ``python3 -m analysis report|compare`` and exit codes

Run it with the interpreter that has Debian's python3-numpy, python3-scipy and
python3-matplotlib (``/usr/bin/python3`` on Debian), with the repository root on
``PYTHONPATH``.
"""

__version__ = "1.0.0"

# Schema identifiers this reader understands. A reader ignores unknown fields, and
# a field is never renamed within a version, so only the version string is checked.
RUN_SCHEMA = "zcbench.run/1"
TRIAL_SCHEMA = "zcbench.trial/2"
# Older trial versions this reader still reads (load.py upgrades them on reading).
TRIAL_SCHEMAS = ("zcbench.trial/1", TRIAL_SCHEMA)
COMPARE_SCHEMA = "zcbench.compare/1"
