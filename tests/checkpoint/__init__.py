"""Tests of specdistill.checkpoint."""
