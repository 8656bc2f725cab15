"""Storm digests: notifications held while their sender mailbox is at its limits, then sent as one mail
per route. ``held`` stores them (Table storage, bodies in blobs where large); ``flush`` sends a
group's digest when its delayed queue message comes; the mail itself is ``shared.mail.digest``.
"""
