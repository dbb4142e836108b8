# SPDX-License-Identifier: MIT
"""Corpus: jsonschema (python3-jsonschema), schemas with $ref.

Every validator resolves its "$ref"s through a RefResolver. The class-level
caches RefResolver._find_in_subschemas and RefResolver._get_subschemas_cache
(lru_cache(), maxsize 128) key every resolver, and each resolver owns
per-instance caches: _remote_cache = lru_cache(1024)(self.resolve_from_url)
(around its own bound method: resolver -> __dict__ -> wrapper -> bound
method -> resolver) and _urljoin_cache = lru_cache(1024)(urljoin). A
validator the program drops leaves its resolver, and what the resolver's
own caches hold, to the class-level caches: up to 128 resolvers.

Driven the way users write it: Draft7Validator(schema).validate(doc),
iter_errors() and jsonschema.validate(doc, schema). Some validators are
kept by the program (their resolvers are never pinned).
"""
from corpus_truth import CorpusTruth, debian

import jsonschema  # noqa: E402


def schema(i):
    return {
        "$id": "https://example.com/schemas/item-%d.json" % i,
        "type": "object",
        "properties": {
            "id": {"$ref": "#/definitions/ident"},
            "tags": {"type": "array", "items": {"$ref": "#/definitions/tag"}},
        },
        "required": ["id"],
        "definitions": {
            "ident": {"type": "integer", "minimum": 0},
            "tag": {"type": "string", "maxLength": 8 + i % 5},
        },
    }


def build():
    kept = []
    for i in range(90):
        doc = {"id": i, "tags": ["t%d" % i, "x"]}
        if i % 3 == 0:
            jsonschema.validate(doc, schema(i))
            continue
        validator = jsonschema.Draft7Validator(schema(i))
        validator.validate(doc)
        assert not list(validator.iter_errors({"id": i}))
        if i % 4 == 1:
            kept.append(validator)
    return kept


def main():
    debian(jsonschema)
    kept = build()
    truth = CorpusTruth()
    truth.register(["jsonschema"])
    truth.ready_and_wait()
    truth.finish(kept)


if __name__ == "__main__":
    main()
