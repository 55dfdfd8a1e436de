"""Exporters: the only place that knows OTLP / Prometheus wire formats."""
