"""Tests of specdistill.example."""
