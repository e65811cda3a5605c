"""The words for where a registration stands, named once for every front end."""

PENDING = "pending"
GRANTED = "granted"
REJECTED = "rejected"
STATUSES = (PENDING, GRANTED, REJECTED)
