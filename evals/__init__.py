"""Measurement: datasets and metrics for retrieval and grounding."""
