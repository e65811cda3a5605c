"""The words for where a registration stands, named once for every front end."""

PENDING = "pending"
GRANTED = "granted"
REJECTED = "rejected"
STATUSES = (PENDING, GRANTED, REJECTED)

# How a registration came in: the JSON API or EST (RFC 7030). Stored with it, so
# that the window, the CLI and the audit trail can tell an EST device apart.
VIA_API = "api"
VIA_EST = "est"
