"""deeperaction.models.heads."""
