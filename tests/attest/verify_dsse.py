#!/usr/bin/python3
"""Verifies a DSSE envelope written by modeldna with an independent
implementation: the pre-authentication encoding built here from the DSSE
specification, the Ed25519 signature checked by Debian's
python3-securesystemslib (SSlibKey.verify_signature; the public key read by
python3-cryptography). Usage: verify_dsse.py ENVELOPE PUBLIC_KEY.pem
Prints "verified <payloadType> <number of subjects>" or exits 1 with the reason.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import Signature, SSlibKey


def pae(payload_type: bytes, payload: bytes) -> bytes:
    return b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type, len(payload), payload)


def main() -> int:
    envelope_path, key_path = sys.argv[1:3]
    with open(envelope_path) as f:
        envelope = json.load(f)
    with open(key_path, "rb") as f:
        public = serialization.load_pem_public_key(f.read())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    payload = base64.b64decode(envelope["payload"], validate=True)
    message = pae(envelope["payloadType"].encode(), payload)
    for s in envelope["signatures"]:
        key = SSlibKey(s["keyid"], "ed25519", "ed25519", {"public": raw.hex()})
        try:
            key.verify_signature(Signature(s["keyid"], base64.b64decode(s["sig"]).hex()), message)
        except Exception as e:  # securesystemslib raises UnverifiedSignatureError
            print(f"signature does not verify: {e!r}")
            return 1
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1", statement["_type"]
    print("verified", envelope["payloadType"], len(statement["subject"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
