"""``mcav dj-key``: manage the VJ server's keys file (only salted hashes are stored).

    mcav dj-key add KEYS.yaml DJ_ID [--name "DJ Alice"] [--priority N] [--prompt | --key-stdin] [--replace]
    mcav dj-key remove KEYS.yaml DJ_ID
    mcav dj-key list KEYS.yaml
    mcav dj-key verify KEYS.yaml DJ_ID [--key-stdin]

``add`` generates a random key and prints it once (or takes one from a prompt
or standard input); the file keeps only its scrypt hash. MCAV's
``configs/dj_auth.json`` files are read as they are. Exit codes: 0 done,
1 a key did not verify, 2 bad file, DJ id or arguments.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the sub-commands (called at CLI start: keep this module's imports light)."""
    sub = parser.add_subparsers(dest="dj_key_action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a DJ (or replace its key) and print the new key once")
    add.add_argument("keys_file", help="keys file (YAML; created if missing)")
    add.add_argument("dj_id", help="the DJ's id, as its client sends it in dj_auth")
    add.add_argument("--name", help="display name (default: the id)")
    add.add_argument("--priority", type=int, default=10, help="queue priority, lower goes first (default 10)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--prompt", action="store_true", help="type the key instead of generating one")
    how.add_argument("--key-stdin", action="store_true", help="read the key from the first line of standard input")
    add.add_argument("--replace", action="store_true", help="replace an existing DJ's key")
    rm = sub.add_parser("remove", help="remove a DJ")
    rm.add_argument("keys_file")
    rm.add_argument("dj_id")
    ls = sub.add_parser("list", help="list DJs (ids, names, priorities; never keys)")
    ls.add_argument("keys_file")
    ver = sub.add_parser("verify", help="check a key against the file (exit 0 if it matches)")
    ver.add_argument("keys_file")
    ver.add_argument("dj_id")
    ver.add_argument("--key-stdin", action="store_true", help="read the key from standard input instead of a prompt")


def _read_key(from_stdin: bool, confirm: bool) -> str:
    """The key from the first line of standard input, or typed (hidden) at a prompt.

    Raises:
        ValueError: no key came (standard input ended, or there is no terminal to prompt on).
    """
    import getpass

    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValueError("no key given: standard input is empty (pipe the key in, one line)")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        # getpass would fall back to an echoing read with a warning, then fail on EOF
        raise ValueError("no terminal to type the key on: run this in a terminal, or pipe the key in with --key-stdin")
    try:
        key = getpass.getpass("DJ key: ")
        if confirm and getpass.getpass("Again: ") != key:
            raise ValueError("the two keys differ")
    except EOFError:
        raise ValueError("no key given: input ended (Ctrl-D) at the prompt") from None
    return key


def command(args: argparse.Namespace) -> int:
    """Add, remove, list or verify DJ keys in a keys file (only salted hashes are stored).

    Returns the exit code: 0 done, 1 a key did not verify, 2 bad file, DJ id,
    arguments or no key given.
    """
    from .auth import KeysFileError, KeyStore, generate_key

    action = args.dj_key_action
    try:
        store = KeyStore.load(args.keys_file, missing_ok=action == "add")
        if action == "list":
            if not store.djs:
                print(f"{args.keys_file}: no DJs")
            for d in sorted(store.djs.values(), key=lambda d: (d.priority, d.dj_id)):
                print(f"{d.dj_id}\t{d.name}\tpriority {d.priority}\t{d.key_hash.split(':', 1)[0]}")
            return 0
        if action == "remove":
            store.remove(args.dj_id)
            store.save()
            print(f"removed {args.dj_id} from {args.keys_file}")
            return 0
        if action == "verify":
            if args.dj_id not in store.djs:
                raise KeyError(f"no DJ '{args.dj_id}' in the keys file (known: {', '.join(sorted(store.djs)) or 'none'})")
            ok = store.verify(args.dj_id, _read_key(args.key_stdin, confirm=False)) is not None
            print("key matches" if ok else "key does NOT match")
            return 0 if ok else 1
        if args.dj_id in store.djs and not args.replace:
            raise ValueError(f"DJ '{args.dj_id}' is already in {args.keys_file}; add --replace to give it a new key")
        generated = not (args.prompt or args.key_stdin)
        key = generate_key() if generated else _read_key(args.key_stdin, confirm=args.prompt)
        if len(key) < 8:
            raise ValueError("a DJ key needs at least 8 characters")
        store.add(args.dj_id, args.name or args.dj_id, key, args.priority)
        store.save(args.keys_file)
        print(f"{'replaced' if args.replace else 'added'} {args.dj_id} in {args.keys_file} (only its hash is stored)")
        if generated:
            print(f"key for {args.dj_id} (shown once; give it to the DJ): {key}")
        return 0
    except (KeysFileError, KeyError, ValueError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {msg}", file=sys.stderr)
        return 2
