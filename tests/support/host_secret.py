"""The secret the attack tests plant in host files and the environment: it must never come out."""

from __future__ import annotations

SECRET = "vtlgen-test-secret-7f3a9c"


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert "root:x:0:0" not in text  # /etc/passwd
