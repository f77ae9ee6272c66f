"""Who may act: users, roles, qualifications and passwords, API tokens and sign-in throttling,
the caller's roles, e-signature re-authentication. May import engine.infra, records, errors."""
