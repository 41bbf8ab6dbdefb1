"""deeperaction.video."""
