"""Tests of specdistill.teacher."""
