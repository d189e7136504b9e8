"""Tests of specdistill.evaluation."""
