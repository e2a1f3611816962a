"""Examples of the main request bodies, by schema name."""

from __future__ import annotations

from typing import Any

# tests/test_openapi_document.py checks
# each one decodes into its Struct, so an example cannot drift from the schema.
EXAMPLES: dict[str, dict[str, Any]] = {
    "LoginIn": {"email": "ada@example.com", "password": "correct horse battery staple"},
    "MfaLoginIn": {"mfa_token": "mfa_3q2xv9", "code": "492039"},
    "RegisterIn": {
        "email": "ada@example.com",
        "password": "correct horse battery staple",
        "full_name": "Ada Lovelace",
        "role": "patient",
        "timezone": "Europe/London",
    },
    "ClientCredentialsIn": {"grant_type": "client_credentials", "client_id": "bot_triage", "client_secret": "s3cr3t"},
    "PasswordResetRequestIn": {"email": "ada@example.com"},
    "PasswordResetIn": {"token": "rst_4k8w2m", "new_password": "another horse battery staple"},
    "BookingIn": {
        "doctor_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "starts_at": "2030-05-01T09:30:00Z",
        "reason": "A persistent cough",
    },
    "RescheduleIn": {"starts_at": "2030-05-02T14:00:00Z"},
    "CancelIn": {"reason": "I am feeling better"},
    "DocumentIn": {"text": "Patient reports a dry cough for two weeks.", "version": 3},
    "InviteIn": {"client_id": "bot_triage"},
    "IntakeIn": {
        "chief_complaint": "Dry cough",
        "symptoms": ["cough", "tiredness"],
        "symptom_duration": "two weeks",
        "medications": [],
        "allergies": ["penicillin"],
        "conditions": [],
        "consent_to_treatment": True,
    },
}
