"""The audit log: an append-only record of security-relevant acts (sign-ins, team and role
changes, tokens, PII reveals, exports, settings, key rotation), read by ``audit.read``."""
