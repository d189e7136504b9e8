"""Tests of specdistill.gate."""
