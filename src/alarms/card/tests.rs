//! Unit tests for the card renderers.
