"""Statistics for comparing a baseline and a compressed model.

``pytest_compress.metrics.paired``
    Paired per-case statistics used by the gate: fixed-n confidence intervals
    for the drop (Tango's score interval for 0/1 outcomes, seeded BCa bootstrap
    otherwise), the matching one-sided tests, and Holm's adjustment.

``pytest_compress.metrics.anytime``
    Anytime-valid tests and intervals for a bounded mean, by betting: valid at
    whatever look the gate stops drawing cases.

``pytest_compress.metrics.agreement``
    Model-agreement math on logits (torch): rank correlations over the
    baseline's top-k tokens, top-k Jaccard, effective rank (ERank), energy,
    KL divergence, top-1 flips and perplexity helpers.

Nothing is imported here, so importing the package stays cheap; import the
submodules directly.
"""
