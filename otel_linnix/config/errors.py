"""Config errors that name the exact path of what is wrong (``exporters.otlp.endpont: ...``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def format_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class ConfigError(Exception):
    """One or more problems, each a line ``path: message``."""

    def __init__(self, problems: Sequence[tuple[str, str]] | str, path: str = "") -> None:
        if isinstance(problems, str):
            problems = [(path, problems)]
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{path}: {msg}" if path else msg for path, msg in self.problems]
