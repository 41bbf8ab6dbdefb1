"""deeperaction.viz."""
