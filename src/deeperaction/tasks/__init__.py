"""deeperaction.tasks."""
