"""How the admin CLI shows the core's values: lines of text, and ``--json`` documents.

Text that came from the network goes through ``make_visible``; times are local
for people and ISO 8601 UTC in JSON.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from common.visible import make_visible
from server.ca import IssuancePlan
from server.csr import CsrReview
from server.lifecycle import CertificateView
from server.statuses import GRANTED
from server.views import AuditRecord, PreauthorizationView, RegistrationDetails, RegistrationSummary


def when(epoch_seconds: float | None) -> str:
    """A moment in the local time zone, for people."""
    if epoch_seconds is None:
        return "-"
    return datetime.fromtimestamp(epoch_seconds).astimezone().isoformat(sep=" ", timespec="seconds")


def iso(epoch_seconds: float | None) -> str | None:
    """A moment in UTC, for machines."""
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat(timespec="seconds")


def describe(details: RegistrationDetails) -> list[str]:
    """The registration as the review dialog shows it, as lines of text."""
    lines = [
        f"username:         {details.username}",
        f"status:           {details.status}",
        f"pairing code:     {details.pairing_code or '-'}",
        f"enrolled via:     {channel(details.enrolled_via)}",
        f"source address:   {details.source_address}",
        f"requested at:     {when(details.requested_at)}",
        f"last poll:        {when(details.last_poll_at)} from {details.last_poll_address}",
        f"failed attempts:  {details.failed_attempts}",
        f"context:          {make_visible(json.dumps(details.context, ensure_ascii=False)) if details.context is not None else '-'}",
        f"requested roles:  {make_visible(', '.join(details.roles)) or '-'}",
        "requested permissions:" + ("" if details.permissions else " -"),
    ]
    lines += [f"  {p.context}:{p.operation}:{make_visible(p.resource)}" for p in details.permissions]
    lines += [f"warning:          {warning}" for warning in details.warnings]
    csr = details.csr
    if csr is None:
        lines.append("CSR:              none (password only)")
    else:
        lines.append("CSR subject:")
        lines += [f"  {name} = {make_visible(value)}" for name, value in csr.subject]
        lines.append("CSR SANs:         " + (make_visible(", ".join(map(str, csr.sans))) or "-"))
        if csr.other_sans:
            lines.append("  never issued:   " + make_visible(", ".join(csr.other_sans)))
        if csr.requested_extensions:
            lines.append("CSR also asks for (never issued): " + make_visible(", ".join(csr.requested_extensions)))
        lines.append(f"key:              {csr.key_algorithm} {csr.key_size}".rstrip())
        lines.append(f"signature:        {csr.signature_algorithm}")
        lines.append(f"key fingerprint:  {csr.key_fingerprint}")
    if details.plan is not None:
        plan = details.plan
        lines.append(f"will issue:       CN={plan.common_name}, CA:FALSE, {', '.join(plan.key_usage)}, "
                     f"{', '.join(plan.extended_key_usage)}, valid {when(plan.not_before.timestamp())} "
                     f"to {when(plan.not_after.timestamp())}; SANs only with --sans")
    if details.decided_at is not None:
        lines.append(f"decided:          {details.status} by {details.decided_by} at {when(details.decided_at)}")
    if details.reject_reason:
        lines.append(f"reason:           {make_visible(details.reject_reason)}")
    if details.status == GRANTED:
        lines.append(f"granted roles:    {make_visible(', '.join(details.granted_roles)) or '-'}")
        lines.append(f"granted permissions: {len(details.granted_permissions)}")
    if details.certificate_serial:
        lines.append(f"certificate:      serial {details.certificate_serial}, "
                     f"expires {when(details.certificate_not_after)}")
    if details.certificates:
        lines.append("certificate history:")
        lines += [f"  {view.serial}  {view.state}, expires {when(view.not_after)}"
                  + (f", revoked {when(view.revoked_at)} ({view.revocation_reason})" if view.revoked_at else "")
                  for view in details.certificates]
    return lines


def channel(enrolled_via: str) -> str:
    """How a registration came in, as people call it: "API" or "EST"."""
    return enrolled_via.upper()


def listing(items, as_json: bool, to_json, header: tuple[str, ...], to_row) -> str:
    """``items`` as a padded table (``to_row`` each, under ``header``), or with --json as a
    JSON array (``to_json`` each)."""
    if as_json:
        return json.dumps([to_json(item) for item in items], indent=2)
    return "\n".join(table(header, [to_row(item) for item in items]))


SUMMARY_HEADER = ("USERNAME", "STATUS", "VIA", "KEY", "PAIRING", "ROLES", "PERMS", "SOURCE", "REQUESTED", "LAST POLL")


def summary_row(row: RegistrationSummary) -> tuple[str, ...]:
    return (row.username, row.status, channel(row.enrolled_via), row.key_description or "-", row.pairing_code or "-",
            make_visible(",".join(row.roles)) or "-", str(row.permission_count), row.source_address,
            when(row.requested_at), when(row.last_poll_at))


CERTIFICATE_HEADER = ("SERIAL", "USERNAME", "STATE", "NOT AFTER", "REVOKED AT", "REASON")


def certificate_row(view: CertificateView) -> tuple[str, ...]:
    return (view.serial, view.username, view.state, when(view.not_after), when(view.revoked_at),
            view.revocation_reason or "-")


PREAUTHORIZATION_HEADER = ("USERNAME", "STATE", "KEY FINGERPRINT", "ROLES", "PERMS", "EXPIRES", "USED")


def preauthorization_row(view: PreauthorizationView) -> tuple[str, ...]:
    return (view.username, view.state, view.key_fingerprint, make_visible(",".join(view.roles)) or "-",
            str(len(view.permissions)), when(view.expires_at), when(view.used_at))


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell."""
    lines = [header, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]


def crl_pem(der: bytes) -> str:
    return x509.load_der_x509_crl(der).public_bytes(Encoding.PEM).decode("ascii")


def certificate_json(view: CertificateView) -> dict:
    return {"serial": view.serial, "username": view.username, "state": view.state,
            "issuedAt": iso(view.issued_at), "notAfter": iso(view.not_after), "revokedAt": iso(view.revoked_at),
            "revocationReason": view.revocation_reason}


def summary_json(row: RegistrationSummary) -> dict:
    return {
        "username": row.username, "status": row.status, "roles": list(row.roles),
        "permissionCount": row.permission_count, "key": row.key_description,
        "enrolledVia": row.enrolled_via, "pairingCode": row.pairing_code, "sourceAddress": row.source_address, "requestedAt": iso(row.requested_at),
        "lastPollAt": iso(row.last_poll_at), "certificateSerial": row.certificate_serial,
        "certificateNotAfter": iso(row.certificate_not_after),
    }


def details_json(details: RegistrationDetails) -> dict:
    return {
        "username": details.username,
        "status": details.status,
        "enrolledVia": details.enrolled_via,
        "pairingCode": details.pairing_code,
        "sourceAddress": details.source_address,
        "requestedAt": iso(details.requested_at),
        "lastPollAt": iso(details.last_poll_at),
        "lastPollAddress": details.last_poll_address,
        "failedAttempts": details.failed_attempts,
        "context": details.context,
        "roles": list(details.roles),
        "permissions": [p.to_json() for p in details.permissions],
        "csr": _csr_json(details.csr) if details.csr else None,
        "willIssue": _plan_json(details.plan) if details.plan else None,
        "decidedAt": iso(details.decided_at),
        "decidedBy": details.decided_by,
        "rejectReason": details.reject_reason,
        "grantedRoles": list(details.granted_roles),
        "grantedPermissions": [p.to_json() for p in details.granted_permissions],
        "certificateSerial": details.certificate_serial,
        "certificateNotAfter": iso(details.certificate_not_after),
        "certificate": details.certificate_pem,
        "certificates": [certificate_json(view) for view in details.certificates],
        "warnings": list(details.warnings),
    }


def preauthorization_json(view: PreauthorizationView) -> dict:
    return {"username": view.username, "state": view.state, "keyFingerprint": view.key_fingerprint,
            "roles": list(view.roles), "permissions": [p.to_json() for p in view.permissions],
            "createdAt": iso(view.created_at), "createdBy": view.created_by, "expiresAt": iso(view.expires_at),
            "usedAt": iso(view.used_at)}


def audit_json(record: AuditRecord) -> dict:
    return {"at": iso(record.at), "actor": record.actor, "action": record.action,
            "username": record.username, "detail": record.detail}


def _csr_json(review: CsrReview) -> dict:
    return {
        "subject": [{"attribute": name, "value": value} for name, value in review.subject],
        "sans": [str(san) for san in review.sans],
        "otherSans": list(review.other_sans),
        "requestedExtensions": list(review.requested_extensions),
        "keyAlgorithm": review.key_algorithm,
        "keySize": review.key_size,
        "signatureAlgorithm": review.signature_algorithm,
        "keyFingerprint": review.key_fingerprint,
    }


def _plan_json(plan: IssuancePlan) -> dict:
    return {
        "subject": f"CN={plan.common_name}",
        "notBefore": plan.not_before.isoformat(),
        "notAfter": plan.not_after.isoformat(),
        "basicConstraints": "CA:FALSE",
        "keyUsage": list(plan.key_usage),
        "extendedKeyUsage": list(plan.extended_key_usage),
        "sans": [str(san) for san in plan.sans],
    }
