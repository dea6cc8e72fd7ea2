"""Tests of the blueprint as a copier template (excluded from forks: a fork has no copier.yml)."""
