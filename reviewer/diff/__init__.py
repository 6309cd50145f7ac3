"""The diff engine: alignment, JSON diff, output signals, checks and change scores.

Pure functions only: no Textual, no I/O, no store. Names are re-exported lazily (PEP 562), so
importing one submodule does not pay for the others.
"""
