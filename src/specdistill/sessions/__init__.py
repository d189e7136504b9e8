"""Sessions: their lifecycle, their files under learning/, and the SQLite index."""
