"""Exact coverage of the 95% interval the gate shows for a paired 0/1 drop.

Run: ``python -m benchmarks.interval_coverage`` (``python -m benchmarks.readme_tables --only coverage``
renders the README table from its result). For n = 20, 50, 200 cases and discordance 0.05, 0.2,
0.5, with the discordant cases split 50/50, 75/25 or all losses, the probability that the
interval of :func:`pytest_compress.metrics.paired.estimate_drop` holds the true drop, summed
over every possible data set (:func:`~pytest_compress.metrics.paired.exact_coverage`): no
Monte Carlo error, no seed needed. Writes ``benchmarks/results/interval_coverage.json``.
"""

from __future__ import annotations

import sys

from benchmarks.common import measured_with, write_result
from pytest_compress.metrics.paired import exact_coverage

NAME = "interval_coverage"
SIZES = (20, 50, 200)
DISCORDANCES = (0.05, 0.2, 0.5)
#: share of the discordant cases that are losses (baseline right, compressed wrong)
LOSS_SHARES = (0.5, 0.75, 1.0)


def main(argv: list[str] | None = None) -> dict:
    rows = [{"n": n, "discordance": disc, "loss_share": share,
             "coverage": exact_coverage(n, disc * share, disc * (1 - share))}
            for n in SIZES for disc in DISCORDANCES for share in LOSS_SHARES]
    for r in rows:
        print(f"n={r['n']:4d} discordance={r['discordance']:.2f} losses={r['loss_share']:.2f}: {r['coverage']:.4f}")
    payload = {"benchmark": NAME, "confidence": 0.95, "rows": rows,
               "measured_with": measured_with(" ".join(["python -m benchmarks.interval_coverage",
                                                        *(sys.argv[1:] if argv is None else argv)]))}
    print(f"wrote {write_result(NAME, payload)}")
    return payload


if __name__ == "__main__":
    main()
