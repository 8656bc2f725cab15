"""Mailhook: webhooks in, Microsoft Graph email out.

A request reads top to bottom through subpackages named after its steps. ``function_app.py``
wires each route to ``endpoints`` (one module per route; ``_respond`` gives every answer its
request id and its RFC 9457 shape). ``intake`` turns the HTTP body into JSON. A webhook goes to
``sources``, where its sender's module checks the caller's signature or token and reads the
payload into a neutral Notification; ``/api/mail`` bodies go straight to ``mail``. In ``mail``,
``compose`` applies the route to a Notification and renders it, both forms become one MailDraft,
and ``policy`` approves it into the exact Graph sendMail call. ``delivery`` then sends it once:
the Dispatcher claims its idempotency key, checks the recipient budget, hands it to a transport
(Graph, the local outbox, or the queue that the ``deliver`` function drains) and settles the key
by the transport's failure category. ``azure`` holds the clients of Azure itself: MSAL tokens and
storage. ``settings`` is read once, in typed parts each component takes its own of; ``runtime``
builds the pieces once per process. ``problems`` and ``logs`` are what every step shares.
"""
