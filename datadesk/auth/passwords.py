"""Password hashing (Argon2id) and the strength rules a new password must pass.

The cost parameters come from ``auth.hash_time_cost`` and ``auth.hash_memory_kib``; a hash made
with weaker parameters than configured is upgraded at the user's next successful sign-in.
"""

from __future__ import annotations

import functools
import secrets
import string

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from datadesk.config.schema import AuthConfig

MAX_PASSWORD_LENGTH = 1024  # longer input is refused before hashing: no hashing cost attacks
MIN_DISTINCT_CHARACTERS = 5
SINGLE_CLASS_OK_LENGTH = 20  # long pass phrases may use one kind of character

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
_VERIFIER = PasswordHasher()  # verification reads the parameters from the hash itself


@functools.lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, type=Type.ID)


def password_hasher(auth: AuthConfig) -> PasswordHasher:
    """The Argon2id hasher for the configured cost."""
    return _hasher(auth.hash_time_cost, auth.hash_memory_kib)


def hash_password(password: str, auth: AuthConfig) -> str:
    """An Argon2id hash (salted, parameters encoded) of ``password``."""
    return password_hasher(auth).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; False (never an exception) for a missing or malformed hash."""
    if not password_hash or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        # libargon2 compares the digests in constant time
        return _VERIFIER.verify(password_hash, password)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(password_hash: str, auth: AuthConfig) -> bool:
    """Whether a hash is weaker than the configured parameters (never downgrades a stronger one)."""
    try:
        params = extract_parameters(password_hash)
    except (InvalidHashError, ValueError):
        return True
    wanted = password_hasher(auth)
    return (
        params.type is not Type.ID
        or params.time_cost < auth.hash_time_cost
        or params.memory_cost < auth.hash_memory_kib
        or params.hash_len < wanted.hash_len
        or params.salt_len < wanted.salt_len
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("datadesk: no such user")


def dummy_hash(auth: AuthConfig) -> str:
    """A hash with the configured cost that no password matches in practice; for unknown users."""
    return _dummy_hash(auth.hash_time_cost, auth.hash_memory_kib)


def check_password_strength(password: str, min_length: int, username: str | None) -> list[str]:
    """Why ``password`` is too weak, one sentence per problem; [] when it is acceptable."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"the password must be at least {min_length} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")
    name = (username or "").strip().lower()
    if name and name in password.lower():
        problems.append("the password must not contain the user name")
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        problems.append(
            f"the password must use at least {MIN_DISTINCT_CHARACTERS} different characters"
        )
    elif len(password) < SINGLE_CLASS_OK_LENGTH and _character_classes(password) < 2:
        problems.append(
            "the password must mix kinds of characters (lower case, upper case, digits, "
            f"symbols) unless it is at least {SINGLE_CLASS_OK_LENGTH} characters long"
        )
    return problems


def _character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    used = sum(1 for chars in _CLASSES if any(c in chars for c in password))
    if any(not any(c in chars for chars in _CLASSES) for c in password):
        used += 1
    return used


def generate_password(username: str | None = None, length: int = 20) -> str:
    """A random password of letters and digits that passes the strength rules."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not check_password_strength(candidate, length, username):
            return candidate
