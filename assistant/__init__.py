"""Question to cited answer: retrieval, generation and citation checks."""

import index  # noqa: F401  (sets the offline, no-telemetry environment first: see index/__init__.py)
