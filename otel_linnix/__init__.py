from importlib.metadata import PackageNotFoundError, version

from otel_linnix.compiled import drop_stale_build

try:
    __version__ = version("otel-linnix")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

drop_stale_build()
