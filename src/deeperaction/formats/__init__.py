"""Readers, writers and validators of the official file formats (no torch)."""
