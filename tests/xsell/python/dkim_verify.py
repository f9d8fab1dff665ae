"""Verifies the DKIM signature of .eml files with dkimpy (an independent
implementation), answering the DNS lookup for the selector with the public
key given on the command line instead of asking a resolver.

usage: dkim_verify.py SELECTOR._domainkey.DOMAIN PUBLIC_KEY_RECORD FILE...
prints `pass` or `fail` per file."""

import sys

import dkim


def main():
    name, record, files = sys.argv[1], sys.argv[2], sys.argv[3:]

    def dns(query, timeout=5):
        wanted = query.decode() if isinstance(query, bytes) else query
        if wanted.rstrip(".") == name:
            return record.encode()
        return None

    for path in files:
        with open(path, "rb") as handle:
            message = handle.read()
        print("pass" if dkim.verify(message, dnsfunc=dns) else "fail")


if __name__ == "__main__":
    main()
