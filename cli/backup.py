"""``admin backup FILE`` and ``admin restore FILE``: the whole registry in one encrypted file.

The passphrase comes from ``--passphrase-file`` (its first line; the file must
be the user's own and private) or ``$CLIENT_REGISTRY_BACKUP_PASSPHRASE``; it is
never taken from the command line, where other users could read it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from common.files import read_secret
from server.backup import BackupError, check_passphrase, restore_backup, write_backup

PASSPHRASE_VARIABLE = "CLIENT_REGISTRY_BACKUP_PASSPHRASE"
MAX_PASSPHRASE_BYTES = 4096


def add_backup_parsers(commands, parents: list[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser("backup", parents=parents,
                                 help="write the whole registry (database and CA) to one encrypted file")
    backup.add_argument("file", type=Path)
    restore = commands.add_parser("restore", parents=parents,
                                  help="restore a backup into an empty or new --data-dir")
    restore.add_argument("file", type=Path)
    for parser in (backup, restore):
        parser.add_argument("--passphrase-file", type=Path, metavar="FILE",
                            help=f"the passphrase on the file's first line (else ${PASSPHRASE_VARIABLE})")


def passphrase(args: argparse.Namespace) -> str:
    """The passphrase as ``args`` and the environment give it; BackupError when neither does."""
    if args.passphrase_file is not None:
        try:
            text = read_secret(args.passphrase_file, MAX_PASSPHRASE_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BackupError(f"cannot read the passphrase from {args.passphrase_file}: "
                              f"{getattr(error, 'strerror', None) or error}") from None
        return check_passphrase(text.splitlines()[0] if text else "")
    if os.environ.get(PASSPHRASE_VARIABLE):
        return check_passphrase(os.environ[PASSPHRASE_VARIABLE])
    raise BackupError(f"no passphrase: give --passphrase-file FILE or set ${PASSPHRASE_VARIABLE}")


def backup(service, data_dir: Path, args: argparse.Namespace, actor: str) -> str:
    secret = passphrase(args)
    service.record_backup(actor, str(args.file))  # before the snapshot, so the backup holds it too
    write_backup(data_dir, args.file, secret)
    return f"wrote {args.file} (encrypted; keep the passphrase apart from it)"


def restore(data_dir: Path, args: argparse.Namespace) -> None:
    restore_backup(args.file, data_dir, passphrase(args))
