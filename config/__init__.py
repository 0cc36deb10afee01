"""The floor every other package stands on: the settings read from the environment (``config.settings``),
the log set-up (``config.logs``) and the parsed ``WEBHOOK_ALLOWED_HOSTS`` (``config.allowlist``).

It imports nothing of the service's own packages, so anything may import it (``make lint`` checks it).
"""
