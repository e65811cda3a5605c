"""Checking a PKCS#10 CSR, and the facts about it an administrator reviews.

cryptography parses a CSR without verifying its signature and ignores data
after the first PEM block, so both are checked here, along with the key type,
the signature hash and the Common Name. Checks run cheapest first: a 16384-bit
RSA key is refused before its signature is ever verified.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from common.fingerprints import key_fingerprint
from common.key_policy import CURVES, RSA_MAX_BITS, RSA_MIN_BITS

ACCEPTED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512, hashes.SHA3_256, hashes.SHA3_384, hashes.SHA3_512)
MAX_PEM_CHARS = 16 * 1024
RSA_MAX_EXPONENT = 2**32

_PEM_BLOCK = re.compile(
    r"-----BEGIN (NEW |)CERTIFICATE REQUEST-----\r?\n"
    r"(?P<body>[A-Za-z0-9+/=\r\n]+?)"
    r"-----END \1CERTIFICATE REQUEST-----"
)


# RFC 4514 gives short names to a few attributes only (CN, O, OU, C, ST, L…);
# cryptography spells the rest as dotted OIDs, which no administrator can read.
_ATTRIBUTE_NAMES = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.SURNAME: "surname",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.TITLE: "title",
    NameOID.INITIALS: "initials",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
    NameOID.X500_UNIQUE_IDENTIFIER: "x500UniqueIdentifier",
    NameOID.DN_QUALIFIER: "dnQualifier",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.BUSINESS_CATEGORY: "businessCategory",
    NameOID.POSTAL_ADDRESS: "postalAddress",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.JURISDICTION_COUNTRY_NAME: "jurisdictionCountryName",
    NameOID.JURISDICTION_LOCALITY_NAME: "jurisdictionLocalityName",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME: "jurisdictionStateOrProvinceName",
    NameOID.UNSTRUCTURED_NAME: "unstructuredName",
}


def attribute_name(attribute: x509.NameAttribute) -> str:
    """A subject attribute's name as people write it: RFC 4514's short name (CN, O…),
    else its usual long name (emailAddress…), else the dotted OID of an unknown one."""
    return _ATTRIBUTE_NAMES.get(attribute.oid, attribute.rfc4514_attribute_name)


class CsrError(ValueError):
    """The CSR breaks a rule; the message says which, in one line."""


@dataclass(frozen=True)
class SubjectAltName:
    kind: str  # DNS, IP, email, URI
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def to_general_name(self) -> x509.GeneralName:
        return {
            "DNS": lambda v: x509.DNSName(v),
            "IP": lambda v: x509.IPAddress(ipaddress.ip_address(v)),
            "email": lambda v: x509.RFC822Name(v),
            "URI": lambda v: x509.UniformResourceIdentifier(v),
        }[self.kind](self.value)


@dataclass(frozen=True)
class CsrReview:
    """What the review dialog and ``admin show`` display about a CSR."""

    subject: tuple[tuple[str, str], ...]  # (attribute, value) in the CSR's order
    sans: tuple[SubjectAltName, ...]
    other_sans: tuple[str, ...]  # SAN kinds that are never issued, shown for the record
    requested_extensions: tuple[str, ...]  # everything else asked for, never copied
    key_algorithm: str  # RSA, EC, Ed25519
    key_size: str  # RSA bits ("2048"), EC curve ("P-256"), or "" for Ed25519
    signature_algorithm: str
    key_fingerprint: str

    @property
    def key_description(self) -> str:
        return f"{self.key_algorithm} {self.key_size}".strip()


@dataclass(frozen=True)
class CheckedCsr:
    """A CSR that passed every check, and its review facts.

    The facts are gathered when first asked for: granting a stored CSR needs its
    key type only, and a bulk grant re-reads a thousand of them."""

    csr: x509.CertificateSigningRequest
    # Parsed once: each parse costs about a tenth of what signing the certificate does.
    public_key: CertificatePublicKeyTypes
    key_algorithm: str  # RSA, EC, Ed25519
    key_size: str
    signature_algorithm: str

    @functools.cached_property
    def review(self) -> CsrReview:
        return _review(self.csr, self.public_key, self.key_algorithm, self.key_size, self.signature_algorithm)


def check_csr(pem: str, username: str) -> CheckedCsr:
    """Parse and check a CSR sent for ``username``; raise CsrError saying what is wrong."""
    csr = _load_single_pem(pem)
    public_key = _public_key(csr)
    key_algorithm, key_size = _accepted_key(public_key)
    signature_algorithm = _accepted_signature_algorithm(csr)
    if not csr.is_signature_valid:
        raise CsrError("the CSR's signature does not verify")
    _check_common_name(csr, username)
    checked = CheckedCsr(csr, public_key, key_algorithm, key_size, signature_algorithm)
    checked.review  # gathered now, so that a CSR whose extensions cannot be parsed is refused now
    return checked


def load_checked_csr(pem: str) -> CheckedCsr:
    """Re-read a CSR that ``check_csr`` accepted earlier (the stored one), its key and
    signature checked again: the accepted ones may have narrowed since."""
    csr = x509.load_pem_x509_csr(pem.encode("ascii"))
    public_key = _public_key(csr)
    key_algorithm, key_size = _accepted_key(public_key)
    return CheckedCsr(csr, public_key, key_algorithm, key_size, _accepted_signature_algorithm(csr))


def _load_single_pem(pem: str) -> x509.CertificateSigningRequest:
    if len(pem) > MAX_PEM_CHARS:
        raise CsrError(f"the CSR is longer than {MAX_PEM_CHARS} characters")
    blocks = list(_PEM_BLOCK.finditer(pem))
    if not blocks:
        raise CsrError("the CSR is not a PEM block '-----BEGIN CERTIFICATE REQUEST-----'")
    if len(blocks) > 1 or pem.count("-----BEGIN") > 1:
        raise CsrError("the CSR holds more than one PEM block; send exactly one")
    block = blocks[0]
    if pem[: block.start()].strip() or pem[block.end():].strip():
        raise CsrError("the CSR has text before or after its PEM block")
    try:
        der = base64.b64decode("".join(block.group("body").split()), validate=True)
    except binascii.Error:
        raise CsrError("the CSR's PEM block is not valid base64") from None
    try:
        # load_der refuses trailing bytes inside the block, unlike the PEM loader.
        return x509.load_der_x509_csr(der)
    except ValueError:
        raise CsrError("the CSR cannot be parsed as a PKCS#10 certificate request") from None


def _public_key(csr: x509.CertificateSigningRequest) -> CertificatePublicKeyTypes:
    try:
        return csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CsrError("the CSR's public key is of a type that is not accepted") from None


def _accepted_key(key: CertificatePublicKeyTypes) -> tuple[str, str]:
    if isinstance(key, rsa.RSAPublicKey):
        if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
            raise CsrError(f"the CSR's RSA key has {key.key_size} bits; accepted are {RSA_MIN_BITS} to {RSA_MAX_BITS}")
        # A verification costs in proportion to the exponent's length: a 3,000-bit one
        # made every request cost 12 ms. Everyone uses 65537.
        if key.public_numbers().e > RSA_MAX_EXPONENT:
            raise CsrError("the CSR's RSA public exponent is larger than 2^32; 65537 is the usual one")
        return "RSA", str(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = CURVES.get(key.curve.name, (None,))[0]
        if curve is None:
            raise CsrError(f"the CSR's EC key is on curve {key.curve.name}; accepted are P-256, P-384 and P-521")
        return "EC", curve
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", ""
    raise CsrError(
        f"the CSR's key type ({type(key).__name__.removesuffix('PublicKey').lstrip('_')}) is not accepted; "
        "accepted are RSA, EC P-256/P-384/P-521 and Ed25519"
    )


def _accepted_signature_algorithm(csr: x509.CertificateSigningRequest) -> str:
    oid = csr.signature_algorithm_oid
    if oid == SignatureAlgorithmOID.ED25519:
        return "Ed25519"
    try:
        digest = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise CsrError(f"the CSR's signature algorithm ({oid.dotted_string}) is not accepted") from None
    if not isinstance(digest, ACCEPTED_HASHES):
        name = digest.name.upper() if digest else "none"
        raise CsrError(f"the CSR is signed with {name}; SHA-256 or stronger is required")
    if oid == SignatureAlgorithmOID.RSASSA_PSS:
        return f"RSASSA-PSS with {digest.name.upper()}"
    return getattr(oid, "_name", oid.dotted_string)


def _check_common_name(csr: x509.CertificateSigningRequest, username: str) -> None:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CsrError("the CSR's subject has no Common Name; it must be the username")
    if len(names) > 1:
        raise CsrError("the CSR's subject has more than one Common Name")
    common_name = names[0].value
    if common_name == "":
        raise CsrError("the CSR's Common Name is empty; it must be the username")
    if common_name != username:
        raise CsrError(f"the CSR's Common Name {common_name!r} is not the username {username!r}")


def _review(csr, public_key, key_algorithm: str, key_size: str, signature_algorithm: str) -> CsrReview:
    try:
        extensions = list(csr.extensions)
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as error:
        raise CsrError(f"the CSR's extensions cannot be parsed ({error})") from None
    sans: list[SubjectAltName] = []
    other_sans: list[str] = []
    requested: list[str] = []
    for extension in extensions:
        if isinstance(extension.value, x509.SubjectAlternativeName):
            for name in extension.value:
                san = issuable_san(name)
                if san is None:
                    other_sans.append(f"{type(name).__name__}: {name.value!r}")
                elif not _is_valid_san(san):
                    other_sans.append(f"{san.kind}: {san.value!r} (not a valid name of its kind)")
                elif san not in sans:
                    sans.append(san)
        else:
            requested.append(_describe_extension(extension))
    subject = tuple(_review_rdn(rdn) for rdn in csr.subject.rdns)
    return CsrReview(
        subject=subject,
        sans=tuple(sans),
        other_sans=tuple(other_sans),
        requested_extensions=tuple(requested),
        key_algorithm=key_algorithm,
        key_size=key_size,
        signature_algorithm=signature_algorithm,
        key_fingerprint=key_fingerprint(public_key),
    )


# RFC 1123 host names: letters, digits and hyphens in dot-separated labels.
# Wildcards are never issued: a client certificate names one client.
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)", re.ASCII)


def _is_valid_san(san: SubjectAltName) -> bool:
    """Whether a SAN the CSR asks for is a valid name of its kind, so that it may be issued:
    a name with control characters or spaces could mislead whoever reads the certificate."""
    value = san.value
    if san.kind == "DNS":
        return len(value) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in value.split("."))
    if san.kind == "email":
        local, _, domain = value.partition("@")
        return bool(local) and value.isascii() and value.isprintable() and " " not in value and \
            "@" not in domain and all(_DNS_LABEL.fullmatch(label) for label in domain.split("."))
    if san.kind == "URI":
        scheme, separator, rest = value.partition(":")
        return bool(separator and rest) and scheme.isalpha() and value.isascii() and value.isprintable() \
            and " " not in value
    return True  # IP: cryptography parsed it into an address already


def _review_rdn(rdn: x509.RelativeDistinguishedName) -> tuple[str, str]:
    """One (attribute, value) line per RDN. A multi-valued RDN (``CN=x+O=y``) is one
    set of attributes, not two: it is shown as one line, ``CN+O`` = ``CN=x+O=y``."""
    attributes = list(rdn)
    if len(attributes) == 1:
        return attribute_name(attributes[0]), str(attributes[0].value)
    return "+".join(attribute_name(a) for a in attributes), rdn.rfc4514_string()


def issuable_san(name: x509.GeneralName) -> SubjectAltName | None:
    """The name as the registry issues SANs; None for kinds it never issues."""
    if isinstance(name, x509.DNSName):
        return SubjectAltName("DNS", name.value)
    if isinstance(name, x509.IPAddress):
        return SubjectAltName("IP", str(name.value))
    if isinstance(name, x509.RFC822Name):
        return SubjectAltName("email", name.value)
    if isinstance(name, x509.UniformResourceIdentifier):
        return SubjectAltName("URI", name.value)
    return None


def _describe_extension(extension: x509.Extension) -> str:
    value = extension.value
    if isinstance(value, x509.BasicConstraints):
        return f"basicConstraints CA:{str(value.ca).upper()}"
    if isinstance(value, x509.KeyUsage):
        used = [name for name in (
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign",
        ) if getattr(value, name)]
        return "keyUsage " + ", ".join(used)
    if isinstance(value, x509.ExtendedKeyUsage):
        return "extendedKeyUsage " + ", ".join(getattr(oid, "_name", oid.dotted_string) for oid in value)
    return getattr(extension.oid, "_name", extension.oid.dotted_string)
