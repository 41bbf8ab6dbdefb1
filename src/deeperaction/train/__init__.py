"""deeperaction.train."""
