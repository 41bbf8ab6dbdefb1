"""deeperaction.perception."""
