# SPDX-License-Identifier: MIT
"""Corpus: PyJWT (python3-jwt), JWKS clients with key caching.

PyJWKClient(uri, cache_keys=True) wraps its own bound method in a
per-instance cache, self.get_signing_key =
lru_cache(maxsize=16)(self.get_signing_key): client -> __dict__ -> wrapper
-> bound method -> client, a cycle the garbage collector frees once the
program drops the client. The program (this file, the way an app layer
does it) memoises verified claims per (client, token) in its own
module-level lru_cache: a client it drops stays alive through that cache
alone, and with it the signing keys of its per-instance cache. Some
clients are kept by the program; some are dropped and never used with the
app cache (the cycle alone keeps nothing alive).

The JWKS document is served from a file:// URL (no network).
"""
import base64
import functools
import json
import os
import tempfile

from corpus_truth import CorpusTruth, debian

import jwt  # noqa: E402


@functools.lru_cache(maxsize=None)
def verified_claims(client, token):
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["HS256"], audience="corpus")


def build(directory):
    secrets = {"k%d" % i: os.urandom(32) for i in range(4)}
    jwks = {"keys": [{"kty": "oct", "kid": kid, "use": "sig", "alg": "HS256",
                      "k": base64.urlsafe_b64encode(s).rstrip(b"=").decode()}
                     for kid, s in secrets.items()]}
    path = os.path.join(directory, "jwks.json")
    with open(path, "w") as f:
        json.dump(jwks, f)
    uri = "file://" + path
    kept = []
    for i in range(40):
        client = jwt.PyJWKClient(uri, cache_keys=True)
        kid = "k%d" % (i % 4)
        token = jwt.encode({"sub": "user%d" % i, "aud": "corpus"}, secrets[kid],
                           algorithm="HS256", headers={"kid": kid})
        if i % 5 == 4:
            # Used without the app cache: only its own cycle holds it.
            assert client.get_signing_key_from_jwt(token).key_id == kid
        else:
            assert verified_claims(client, token)["sub"] == "user%d" % i
            client.get_signing_key("k%d" % ((i + 1) % 4))
        if i % 5 == 0:
            kept.append(client)
    return kept


def main():
    debian(jwt)
    with tempfile.TemporaryDirectory() as directory:
        kept = build(directory)
    truth = CorpusTruth()
    truth.register(["jwt", "__main__"])
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
