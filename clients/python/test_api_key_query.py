"""`_security/_query/api_key` through the official Python client: `simple_query_string` and the
aggregations that read ranges and composite keys, as Elasticsearch 8 answers them."""

import elasticsearch
import pytest

from test_api_keys import admin_client


def names(resp):
    """The names of the keys found, but the first start's console enrollment key."""
    return sorted(k["name"] for k in resp["api_keys"] if not k["name"].startswith("enrollment_token"))


def test_simple_query_string(node):
    admin = admin_client(node)
    for name, md in [("key-alpha", {"env": "prod", "tier": 42}), ("key-beta", {"env": "dev"}),
                     ("other", {"team": {"name": "ops"}})]:
        node.secrets.append(admin.security.create_api_key(name=name, metadata=md)["api_key"])
    admin.security.invalidate_api_key(name="other")

    def sqs(**body):
        return names(admin.security.query_api_keys(query={"simple_query_string": body}, size=100))

    # No `fields`: every allowed field (name, username, realm_name, type, dates, metadata, ...).
    assert sqs(query="key*") == ["key-alpha", "key-beta"]
    assert sqs(query="ops") == ["other"]  # a metadata value, however deep
    assert sqs(query="\"key-alpha\"") == ["key-alpha"]
    assert sqs(query="key-alpah~1") == ["key-alpha"]  # a transposition is one edit
    assert sqs(query="key-alpah~1", fuzzy_transpositions=False) == []
    # Terms are matched whole and with case: keywords are not analyzed.
    assert sqs(query="KEY-ALPHA") == [] and sqs(query="alpha") == []
    # Operators: `+` and `|` left to right, `-x` is "all but x" (so OR with it matches a lot).
    assert sqs(query="key* prod", default_operator="and") == ["key-alpha"]
    assert sqs(query="key* -prod", default_operator="AND") == ["key-beta"]
    assert sqs(query="key* +dev") == ["key-beta"]
    assert sqs(query="(prod | dev) +key*") == ["key-alpha", "key-beta"]
    assert sqs(query="prod 42 dev", fields=["metadata"], minimum_should_match="2") == ["key-alpha"]
    # Fields: patterns over the allowed names; `metadata.x` is one sub-field, `metadata.*` none.
    assert sqs(query="prod", fields=["metadata.env"]) == ["key-alpha"]
    assert sqs(query="prod", fields=["metadata.*"]) == []
    assert sqs(query="other", fields=["na*"]) == ["other"]
    assert sqs(query="reserved", fields=["*name"]) == ["key-alpha", "key-beta", "other"]
    assert sqs(query="true", fields=["invalidated", "name^2"]) == ["other"]
    # Names that are not allowed (or unknown) expand to nothing: no match rather than an error.
    assert sqs(query="key-alpha", fields=["api_key_hash", "id", "nope"]) == []
    # Flags switch operators off: without PREFIX, `key*` is one literal term.
    assert sqs(query="key*", flags="NONE") == []
    assert sqs(query="key*", flags="PREFIX|WHITESPACE") == ["key-alpha", "key-beta"]
    assert sqs(query="key-alpha dev", flags="OR|AND") == []  # no WHITESPACE: one term
    # A term a field's type cannot take is an error unless lenient (forced when querying `*`).
    assert sqs(query="abc", fields=["creation"], lenient=True) == []
    assert sqs(query="abc", fields=["*"]) == []
    for body, kind, reason in [
        ({"query": "abc", "fields": ["creation"]}, "parse_exception",
         "failed to parse date field [abc] with format [strict_date_optional_time||epoch_millis]"),
        ({"query": "yes", "fields": ["invalidated"]}, "illegal_argument_exception",
         "Can't parse boolean value [yes], expected [true] or [false]"),
        ({"query": "ab*", "fields": ["expiration"]}, "query_shard_exception",
         "Can only use prefix queries on keyword, text and wildcard fields - not on [expiration] which is of type [date]"),
        ({"query": "x", "flags": "OR|FOO"}, "illegal_argument_exception", "Unknown simple_query_string flag [FOO]"),
        ({"query": "x", "default_operator": "xor"}, "illegal_argument_exception",
         "operator needs to be either [and] or [or], but was [xor]"),
        ({"query": "x", "nope": 1}, "parsing_exception", "[simple_query_string] unsupported field [nope]"),
    ]:
        with pytest.raises(elasticsearch.BadRequestError) as e:
            admin.security.query_api_keys(query={"simple_query_string": body})
        assert (e.value.body["error"]["type"], e.value.body["error"]["reason"]) == (kind, reason), body
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.security.query_api_keys(query={"simple_query_string": {"query": "x", "analyzer": "standard"}})
    assert "analyzer [standard] is not supported here" in e.value.body["error"]["reason"]
    # Inside bool, with the other query types.
    both = admin.security.query_api_keys(query={"bool": {"must": [{"simple_query_string": {"query": "key*"}}],
                                                         "must_not": [{"term": {"metadata.env": "dev"}}]}})
    assert names(both) == ["key-alpha"]
