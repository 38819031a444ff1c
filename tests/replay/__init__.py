"""Tests of the offline replay exchange (smartpf.replay)."""
