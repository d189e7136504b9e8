"""Tests of specdistill.cli."""
