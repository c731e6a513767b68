//! Shared helpers for the client-against-sandbox integration tests in `tests/`.
