//! Login with a real OpenID Connect provider, verification levels, lockout, rate limits, integration clients.
