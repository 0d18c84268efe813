"""Scoring accounts with the champion model, reason codes, and the enforcement sync diff."""
