"""Argv redaction: secrets never leave the receiver; ordinary arguments are untouched."""

import random

import pytest

from otel_linnix.redact import REDACTED, bound_argv, redact_argv, redact_each, redact_text

CASES = [
    (("app", "--password=hunter2"), ("app", "--password=***")),
    (("app", "--password", "hunter2", "-v"), ("app", "--password", "***", "-v")),
    (("env", "API_TOKEN=abc123", "run"), ("env", "API_TOKEN=***", "run")),
    (("curl", "https://bob:s3cret@example.com/x"), ("curl", "https://bob:***@example.com/x")),
    (("curl", "-H", "Authorization: Bearer abcdefghijkl"), ("curl", "-H", "Authorization: ***")),
    (("mysql", "-uroot", "-phunter2", "db"), ("mysql", "-uroot", "-p***", "db")),
    (("git", "push", "ghp_" + "a" * 36), ("git", "push", REDACTED)),
    (("aws", "AKIAABCDEFGHIJKLMNOP"), ("aws", REDACTED)),
    (("ls", "-l", "/tmp/password-notes"), ("ls", "-l", "/tmp/password-notes")),
    (("make", "-j4", "CFLAGS=-O2"), ("make", "-j4", "CFLAGS=-O2")),
    (("python", "-p", "x"), ("python", "-p", "x")),  # -p is not a password for python
    (("tool", "--Auth-Header", "x"), ("tool", "--Auth-Header", "***")),
    (("tool", "SK-" + "a" * 20, "sk-" + "b" * 20), ("tool", "SK-" + "a" * 20, REDACTED)),
]


@pytest.mark.parametrize("argv,expected", CASES)
def test_redact_argv(argv, expected):
    assert redact_argv(argv) == expected


def test_the_shortcut_for_a_command_line_with_nothing_secret_changes_no_result():
    # Command lines made of the cases' fragments, ordinary words and case changes: the one
    # search that lets most command lines through untouched must never let a secret through.
    fragments = [arg for argv, _ in CASES for arg in argv]
    fragments += ["-o", "x.o", "--verbose", "key=value", "https://example.com/a", "-p", "@home",
                  "Bearer", "bearer  tok", "eyJhbGciOi", "a:b@c", "mariadb", "/usr/bin/mysql"]
    rng = random.Random(7)
    for _ in range(3000):
        argv = tuple(rng.choice([f, f.upper(), f.lower(), f[: rng.randint(1, max(1, len(f)))]])
                     for f in rng.sample(fragments, rng.randint(1, 5)))
        assert redact_argv(argv) == redact_each(argv), argv
    assert redact_argv(("cc", "-O2", "-c", "x.c")) == ("cc", "-O2", "-c", "x.c")


def test_redact_text_key_value_forms():
    assert redact_text("DB_PASSWORD=x") == "DB_PASSWORD=***"
    assert redact_text("--client-secret:abc") == "--client-secret:***"
    assert redact_text("hello=world") == "hello=world"


def test_bound_argv_caps_count_and_bytes():
    argv, truncated = bound_argv(tuple(f"a{i}" for i in range(100)), max_args=64)
    assert len(argv) == 64 and truncated
    argv, truncated = bound_argv(("x" * 5000,), max_bytes=4096)
    assert argv == ("x" * 4096,) and truncated
    assert bound_argv(("ls", "-l")) == (("ls", "-l"), False)
