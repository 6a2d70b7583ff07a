"""Test helpers that are public API: fake model providers and hypothesis strategies."""
