"""Tests of specdistill.appliers."""
