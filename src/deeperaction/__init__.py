"""deeperaction: localized, detailed understanding of human actions in video."""
__version__ = "0.1.0"
