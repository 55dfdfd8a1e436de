from otel_linnix.testing.api_fixtures import live_tree, make_api  # noqa: F401
