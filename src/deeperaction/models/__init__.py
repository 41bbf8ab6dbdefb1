"""deeperaction.models."""
