"""Parses .eml files with Python's standard `email` package (an independent
MIME parser) and prints what it sees as JSON, one object per file, for the
Rust tests to compare with what xsell meant to write."""

import email
import email.policy
import json
import sys


def describe(path):
    with open(path, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    parts = []
    for part in message.iter_parts():
        parts.append(
            {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "content": part.get_content(),
                "defects": [type(d).__name__ for d in part.defects],
            }
        )
    return {
        "file": path,
        "content_type": message.get_content_type(),
        "from": str(message["From"]),
        "to": str(message["To"]),
        "reply_to": str(message["Reply-To"]),
        "subject": str(message["Subject"]),
        "date": str(message["Date"]),
        "message_id": str(message["Message-ID"]),
        "list_unsubscribe": str(message["List-Unsubscribe"]),
        "list_unsubscribe_post": str(message["List-Unsubscribe-Post"]),
        "header_names": list(message.keys()),
        "defects": [type(d).__name__ for d in message.defects],
        "parts": parts,
    }


if __name__ == "__main__":
    print(json.dumps([describe(path) for path in sys.argv[1:]]))
