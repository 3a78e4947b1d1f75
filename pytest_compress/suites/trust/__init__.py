"""The trust suites: DecodingTrust's eight dimensions, generated offline (one module each).

``trust.toxicity``, ``trust.stereotype``, ``trust.adv_robustness``, ``trust.ood``,
``trust.adv_demo``, ``trust.privacy``, ``trust.ethics``, ``trust.fairness``.
Answers are read by :mod:`.answers`; the shared question machinery is in :mod:`.common`.
"""
