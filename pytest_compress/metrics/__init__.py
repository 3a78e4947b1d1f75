"""Statistics for comparing a baseline and a compressed model.

``pytest_compress.metrics.paired``
    Paired per-case statistics used by the gate: confidence intervals for the
    drop (exact-score interval for 0/1 outcomes, seeded BCa bootstrap
    otherwise), one-sided p-values against a limit, Holm adjustment, and a
    group-sequential (O'Brien-Fleming-type alpha spending) early-stopping plan.

``pytest_compress.metrics.agreement``
    Model-agreement math on logits (torch): rank correlations over the
    baseline's top-k tokens, top-k Jaccard, effective rank (ERank), energy,
    KL divergence, top-1 flips and perplexity helpers.

Nothing is imported here, so importing the package stays cheap; import the
submodules directly.
"""
