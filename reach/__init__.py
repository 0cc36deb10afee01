"""Where a completion webhook may connect (``reach.vetting``): its host resolved and each address vetted.

A layer of its own above ``config`` (whose ``Allowlist`` it applies) and below ``api`` and ``actors``, which both
use it: the API refuses a callback URL before any resolution, the webhook sender vets the address it connects to.
"""
