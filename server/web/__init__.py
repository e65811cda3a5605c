"""The wire adapters: HTTP in, a call on the core's facade, HTTP out.

``json_api`` is the agents' JSON API and ``est`` its EST (RFC 7030) twin, both
reading requests through ``wire``; ``http_server`` serves the adapters with
cheroot in a worker thread; ``connections`` guards it against slow and silent
clients. No protocol rule lives here: the core (``server.service``) decides,
an adapter only translates.
"""
