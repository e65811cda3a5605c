"""One file that holds the whole registry, encrypted and authenticated under a passphrase.

The CA key and the database are everything: lose them and every device must be
enrolled again. ``write_backup`` puts a consistent snapshot of the database
(taken through SQLite's backup API while the server runs) and the CA's two
files into one archive, encrypts it with AES-256-GCM under a key that scrypt
derives from the passphrase and a random salt, and writes it owner-only. The
header (format, KDF parameters, salt) is authenticated too, so a changed byte
anywhere, or a wrong passphrase, opens nothing. ``restore_backup`` checks all of
that, and that the CA's key and certificate belong together and the database
is sound, before anything lands in the target folder.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import struct
import tarfile
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from common.files import OWNER_ONLY, write_atomically
from server.ca import CA_CERT_FILE, CA_KEY_FILE, CaError, CertificateAuthority
from storage import DATABASE_FILE, snapshot_database

MAGIC = b"CLIENT-REGISTRY-BACKUP\n"
FORMAT = 1
# scrypt at 2^17 takes about half a second and 128 MiB: a guessing attacker pays that per guess.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_HEADER = struct.Struct(">BIII16s12s")  # format, N, r, p, salt, nonce
MIN_PASSPHRASE_CHARS = 12
MAX_BACKUP_BYTES = 2 * 1024**3
MEMBERS = (DATABASE_FILE, CA_KEY_FILE, CA_CERT_FILE)


class BackupError(Exception):
    """The backup cannot be written or opened; the message says why, in one line."""


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise BackupError(f"the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long")
    return passphrase


def write_backup(data_dir: Path, target: Path, passphrase: str) -> None:
    """Snapshot the registry in ``data_dir`` into ``target``, encrypted under ``passphrase``."""
    check_passphrase(passphrase)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=data_dir) as scratch:
        snapshot = Path(scratch) / DATABASE_FILE
        snapshot_database(snapshot)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            tar.add(snapshot, DATABASE_FILE)
            for name in (CA_KEY_FILE, CA_CERT_FILE):
                tar.add(Path(data_dir) / name, name)
            manifest = json.dumps({"format": FORMAT, "members": list(MEMBERS)}).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = MAGIC + _HEADER.pack(FORMAT, SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, nonce)
    sealed = AESGCM(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(nonce, archive.getvalue(), header)
    write_atomically(Path(target), header + sealed, OWNER_ONLY)


def restore_backup(source: Path, data_dir: Path, passphrase: str) -> None:
    """Unpack the backup ``source`` into ``data_dir``, which must hold no registry.
    Nothing is written there unless the whole backup opens and checks out."""
    data_dir = Path(data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty; restore into an empty or new folder")
    files = _open(Path(source), passphrase)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as scratch:
        for name in MEMBERS:
            write_atomically(Path(scratch) / name, files[name], OWNER_ONLY)
        try:
            CertificateAuthority.load(Path(scratch))
        except CaError as error:
            raise BackupError(f"the backup's CA does not check out: {error}") from None
        for name in MEMBERS:
            os.replace(Path(scratch) / name, data_dir / name)


def _open(source: Path, passphrase: str) -> dict[str, bytes]:
    try:
        size = source.stat().st_size
        if size > MAX_BACKUP_BYTES:
            raise BackupError(f"{source} is larger than any backup this release writes")
        content = source.read_bytes()
    except OSError as error:
        raise BackupError(f"cannot read {source}: {error.strerror or error}") from None
    header_size = len(MAGIC) + _HEADER.size
    if not content.startswith(MAGIC) or len(content) < header_size:
        raise BackupError(f"{source} is not a Client Registry backup")
    version, n, r, p, salt, nonce = _HEADER.unpack(content[len(MAGIC):header_size])
    if version != FORMAT or not (2**14 <= n <= 2**20 and r == 8 and p == 1):
        raise BackupError(f"{source} is a backup format this release does not read")
    try:
        archive = AESGCM(_key(passphrase, salt, n, r, p)).decrypt(nonce, content[header_size:],
                                                                  content[:header_size])
    except InvalidTag:
        raise BackupError("the backup cannot be opened: a wrong passphrase, or the file was changed") from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files = {member.name: tar.extractfile(member).read() for member in tar.getmembers()
                 if member.isfile() and member.name in MEMBERS}
    if set(files) != set(MEMBERS):
        raise BackupError("the backup lacks " + ", ".join(sorted(set(MEMBERS) - set(files))))
    return files


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
