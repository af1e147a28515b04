"""Argon2id hashing, verification that never raises, rehash decisions and strength rules."""

from __future__ import annotations

import pytest

from datadesk.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    check_password_strength,
    dummy_hash,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from datadesk.config.schema import AuthConfig
from tests.auth.conftest import FAST_AUTH

GOOD = "Tulip-Harbor-42"


def test_hash_is_argon2id_with_the_configured_cost() -> None:
    hashed = hash_password(GOOD, FAST_AUTH)
    assert hashed.startswith("$argon2id$")
    assert "m=8192,t=1," in hashed
    assert GOOD not in hashed
    assert hash_password(GOOD, FAST_AUTH) != hashed  # salted


def test_verify_accepts_the_password_and_nothing_else() -> None:
    hashed = hash_password(GOOD, FAST_AUTH)
    assert verify_password(hashed, GOOD)
    assert not verify_password(hashed, GOOD.lower())
    assert not verify_password(hashed, "")
    assert not verify_password(hashed, GOOD + " ")


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "not a hash",
        "$argon2id$v=19$m=8192,t=1,p=4$broken",
        "$2b$12$abcdefghijklmnopqrstuuD1ZzT7gq7i1mUsmkeWyfBRg5JqKxLZK",  # bcrypt-shaped
        "$argon2id$v=19$m=8192,t=1,p=4$c2FsdHNhbHRzYWx0$" + "A" * 10,
    ],
)
def test_verify_returns_false_for_missing_or_malformed_hashes(stored: str | None) -> None:
    assert verify_password(stored, GOOD) is False


def test_verify_refuses_oversized_passwords_without_hashing() -> None:
    hashed = hash_password("x" * (MAX_PASSWORD_LENGTH + 1), FAST_AUTH)
    assert not verify_password(hashed, "x" * (MAX_PASSWORD_LENGTH + 1))


def test_needs_rehash_when_parameters_are_raised_only() -> None:
    hashed = hash_password(GOOD, FAST_AUTH)
    assert not needs_rehash(hashed, FAST_AUTH)
    assert needs_rehash(hashed, AuthConfig(hash_time_cost=2, hash_memory_kib=8192))
    assert needs_rehash(hashed, AuthConfig(hash_time_cost=1, hash_memory_kib=16384))
    stronger = hash_password(GOOD, AuthConfig(hash_time_cost=2, hash_memory_kib=16384))
    assert not needs_rehash(stronger, FAST_AUTH)  # lowering the config never weakens a hash


def test_needs_rehash_for_a_malformed_hash() -> None:
    assert needs_rehash("not a hash", FAST_AUTH)


def test_dummy_hash_matches_no_ordinary_password() -> None:
    hashed = dummy_hash(FAST_AUTH)
    assert hashed is dummy_hash(FAST_AUTH)  # made once per cost
    assert "m=8192,t=1," in hashed
    assert not verify_password(hashed, GOOD)
    assert not verify_password(hashed, "")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Ab3$", "at least 10 characters"),
        ("xxMaria.Lopez99", "must not contain the user name"),
        ("MARIA.lopez-77", "must not contain the user name"),
        ("abcdefghijkl", "mix kinds of characters"),
        ("738291046512", "mix kinds of characters"),
        ("abababababab", "at least 5 different characters"),
        ("aaaaaaaaaaaaaaaaaaaaaaaa", "at least 5 different characters"),
        ("a1" + "b" * MAX_PASSWORD_LENGTH, "at most"),
    ],
)
def test_weak_passwords_are_explained(password: str, fragment: str) -> None:
    problems = check_password_strength(password, 10, "maria.lopez")
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.parametrize(
    "password",
    [GOOD, "correct horse battery", "correcthorsebatterystaple", "Zx9!Qw8?Zx9!", "Ünïcode-straße"],
)
def test_sensible_passwords_pass(password: str) -> None:
    assert check_password_strength(password, 10, "maria.lopez") == []


def test_every_problem_is_reported() -> None:
    problems = check_password_strength("mlo", 10, "mlo")
    assert len(problems) == 3


def test_generated_passwords_pass_the_rules_and_differ() -> None:
    first, second = generate_password("admin", 24), generate_password("admin", 24)
    assert len(first) == 24 and first != second
    assert check_password_strength(first, 24, "admin") == []
