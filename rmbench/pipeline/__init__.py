"""Orchestration of the study: train, score, analyse neurons, collect results."""
