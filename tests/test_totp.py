"""The TOTP arithmetic and the sealing of secrets at rest (careconnect/totp.py)."""

from __future__ import annotations

import time

import pyotp

from careconnect import totp

KEY = "k" * 40


def test_a_sealed_secret_opens_only_with_the_same_key_and_user():
    secret = totp.new_secret()
    sealed = totp.seal(KEY, "user-1", secret)
    assert secret not in sealed and sealed.startswith("v1:")
    assert totp.seal(KEY, "user-1", secret) != sealed  # a fresh nonce each time
    assert totp.unseal(KEY, "user-1", sealed) == secret
    assert totp.unseal(KEY, "user-2", sealed) is None  # copied to another account
    assert totp.unseal("o" * 40, "user-1", sealed) is None  # SECRET_KEY rotated
    assert totp.unseal(KEY, "user-1", "") is None
    assert totp.unseal(KEY, "user-1", "v1:not-base64!") is None
    assert totp.unseal(KEY, "user-1", sealed[:-4]) is None


def test_codes_count_one_step_either_side_only():
    secret = totp.new_secret()
    now = time.time()
    step = int(now // 30)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, pyotp.TOTP(secret).at(now + 30 * offset), now=now) == step + offset
    for offset in (-3, 3):
        code = pyotp.TOTP(secret).at(now + 30 * offset)
        if code not in {pyotp.TOTP(secret).at(now + 30 * o) for o in (-1, 0, 1)}:
            assert totp.matching_step(secret, code, now=now) is None
    assert totp.matching_step(secret, "12345", now=now) is None
    assert totp.matching_step(secret, "１２３４５６", now=now) is None  # full-width digits are not ASCII


def test_recovery_codes_are_random_and_typed_loosely():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    assert totp.recovery_digest(codes[0]) == totp.recovery_digest(" " + codes[0].upper().replace("-", " "))
    assert not totp.is_totp_code(totp.normalize(codes[0]))
    uri = totp.otpauth_uri(totp.new_secret(), "a@example.com")
    assert uri.startswith("otpauth://totp/CareConnect:a%40example.com?") and "issuer=CareConnect" in uri
