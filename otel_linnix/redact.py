"""Secret redaction for command lines (and environment-style strings), applied once at the source.

Receivers redact argv before a record exists, so the process table, the API, every exporter
and any LLM prompt only ever see the redacted form. Kept deliberately conservative: a value is
hidden when its flag or key *names* a secret (password, token, secret, key, credential, auth…),
when it is a URL's userinfo, or when it looks like a bearer / provider token.
"""

from __future__ import annotations

import re

REDACTED = "***"

#: Names that mark the following value as secret (case-insensitive, matched inside the name).
_SECRET_WORDS = (
    "pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "access_key",
    "access-key", "private_key", "private-key", "credential", "auth", "session_key", "cookie",
    "signature", "client_secret",
)
_SECRET_NAME = re.compile("|".join(re.escape(w) for w in _SECRET_WORDS), re.IGNORECASE)

# --password=x / --api-key:x / PASSWORD=x / token=x
_KEY_VALUE = re.compile(r"^(?P<key>-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>[=:]\s*)(?P<value>.+)$", re.S)
# scheme://user:password@host
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^/\s:@]*):(?P<pw>[^/\s@]+)@")
# Bearer tokens and well-known token shapes (GitHub, Slack, AWS access keys, OpenAI-style keys, JWTs).
_TOKEN_SHAPES = re.compile(
    r"(?i:bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}"
    r"|sk-[A-Za-z0-9_\-]{16,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})\b"
)
# mysql -pSECRET (glued short password flag of database clients)
_GLUED_P = re.compile(r"^-p(?P<value>.+)$")
_DB_CLIENTS = ("mysql", "mysqldump", "mysqladmin", "mariadb", "mariadb-dump")


#: What every pattern above needs somewhere in the command line (a superset), searched for in
#: its lower-cased text: a command line with none of it is returned as it is after one search,
#: not three per argument (a compiler's argv took 15 µs, now 2; an agent sees every exec of a
#: build). Lower-casing first: with re.IGNORECASE the same search took longer than the rest.
_MAYBE_SECRET = re.compile("|".join([*(re.escape(w) for w in _SECRET_WORDS), "://", "bearer",
                                     r"gh[pousr]_", r"xox[abprs]-", "akia", "sk-", "eyj"]))


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact_text(text: str) -> str:
    """Redact secrets inside one free-form string (an argument, a log line, an env entry)."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _TOKEN_SHAPES.sub(REDACTED, text)
    match = _KEY_VALUE.match(text)
    if match and _is_secret_name(match["key"]) and match["value"] != REDACTED:
        return f"{match['key']}{match['sep']}{REDACTED}"
    return text


def redact_argv(argv: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Redact an argument vector: ``--password=x``, ``--password x``, ``-pX`` for db clients, …"""
    if not _is_db_client(argv) and not _MAYBE_SECRET.search("\0".join(argv).lower()):
        return tuple(argv)
    return redact_each(argv)


def _is_db_client(argv: tuple[str, ...] | list[str]) -> bool:
    return bool(argv) and argv[0].rsplit("/", 1)[-1] in _DB_CLIENTS


def redact_each(argv: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``redact_argv`` argument by argument, with no shortcut."""
    out: list[str] = []
    hide_next = False
    is_db_client = _is_db_client(argv)
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and "=" not in arg and _is_secret_name(arg):
            out.append(arg)
            hide_next = True  # the value is the next argument
            continue
        if is_db_client and _GLUED_P.match(arg):
            out.append("-p" + REDACTED)
            continue
        out.append(redact_text(arg))
    return tuple(out)


def bound_argv(argv: tuple[str, ...], max_args: int = 64, max_bytes: int = 4096
               ) -> tuple[tuple[str, ...], bool]:
    """Cap argv by count and total size; returns (argv, truncated)."""
    out: list[str] = []
    total = 0
    for arg in argv[:max_args]:
        room = max_bytes - total
        if room <= 0:
            return tuple(out), True
        if len(arg) > room:
            out.append(arg[:room])
            return tuple(out), True
        out.append(arg)
        total += len(arg) + 1
    return tuple(out), len(argv) > max_args
