"""Tests of specdistill.sessions."""
