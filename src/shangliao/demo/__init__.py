"""Invented but plausible data: the demo shop and large synthetic shops for scale tests."""
