"""What may be shown of a connection string: credentials never leave the environment.

A tracking or database URI can carry a password (`postgresql://user:pw@host/db`), a token as
its user (`https://<token>@host`) or a credential in its query (`?token=...`,
`?X-Amz-Signature=...`). Anything Vigil writes where people or tools read it (Dagster
metadata, logs, printed summaries, MLflow params and tags) shows `redact_uri(uri)` instead.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters whose values are credentials (matched anywhere in the key, any case).
_SECRET_KEYS = re.compile(r"pass|pwd|token|secret|key|sig|credential|auth|session", re.IGNORECASE)
# Fallback for strings urlsplit refuses (e.g. a non-numeric port): mask every userinfo.
_USERINFO = re.compile(r"(//)[^/?#@]*@")


def redact_uri(uri: str) -> str:
    """`uri` with its userinfo (user, password or token) and credential-like query values
    masked; everything else (scheme, host, port, path) kept so the location stays readable."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a malformed port, handled below
    except ValueError:
        return _USERINFO.sub(rf"\1{MASK}@", uri)
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_KEYS.search(k) else v) for k, v in pairs], safe="*/:")
    if (netloc, query) == (parts.netloc, parts.query):
        return uri  # nothing to mask (urlunsplit would also drop the `//` of `sqlite:////abs/path`)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
