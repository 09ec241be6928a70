"""Manuscript figures: forest, funnel and sensitivity plots, and their export.

matplotlib is imported by this subpackage only; nothing on the ``metaall pool`` path
imports it.
"""
