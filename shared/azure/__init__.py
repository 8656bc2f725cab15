"""Azure: app-only Graph tokens from MSAL (``tokens``) and the Storage clients (``storage``), one per process.

Nothing here knows about delivery: its failures are the categories of ``shared.problems``.
"""
