"""Receivers: where records come from (the kernel, or a recording)."""
