"""Reports of analysis results: records (JSON), tables (CSV, Markdown), the text report,
diagnostics reports and the output folder of ``metaall run``.

Every report is a view of an :class:`~metaall.analysis.AnalysisResult` (or of a
diagnostic computed from one); nothing here pools or tests anything itself.
"""
