"""Mailhook: webhooks in, Microsoft Graph email out.

A request reads top to bottom through modules named after its steps:
``intake`` (HTTP body to JSON) → ``mail_request`` (the two /api/mail forms) →
``graph_message`` (the Graph sendMail model) → ``policy`` (allow-lists, defaults,
size) → ``tokens`` (MSAL) → ``transports`` (Graph or the local outbox).
``settings`` is read once; ``runtime`` wires the pieces once per process.
"""
