"""Processors: take records, return records (rules adds alerts, llm_annotate explains them)."""
