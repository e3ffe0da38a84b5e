//! GOOSE tests.
