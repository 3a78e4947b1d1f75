"""Project-wide test settings: deterministic hypothesis runs (same command, same examples)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "project", derandomize=True, deadline=None, max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("project")
