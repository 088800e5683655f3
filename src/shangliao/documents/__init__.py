"""Printable documents as PDF: packing slips (slips.py) and an order's signed evidence pack
(evidence.py, signing.py), set in a CJK font shipped with the package (fonts.py)."""
