"""Helpers every test shares: in-memory sinks and record builders (like the Collector's consumertest)."""

from otel_linnix.testing.builders import ProcessTreeBuilder, random_tree
from otel_linnix.testing.sinks import ListConsumer, RecordingExporter, test_context

__all__ = ["ListConsumer", "ProcessTreeBuilder", "RecordingExporter", "random_tree", "test_context"]
