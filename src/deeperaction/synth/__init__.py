"""deeperaction.synth."""
