"""What a Metricbeat 8 setup calls, replayed with the official Python client as a
`metricbeat_setup` user (the role Beats' documentation describes, plus `ingest_admin` for the
template), then a `metricbeat_writer` shipping with `create` into the data stream and a
`metricbeat_reader` reading it back. The template is Metricbeat's shape (lifecycle name,
`data_stream: {}`, priority 150, `_meta`, `codec: best_compression`, its `dynamic_templates`,
`max_docvalue_fields_search: 200`, `query.default_field`, `mapping.total_fields.limit: 10000`)
with a subset of its fields; each setting is enforced (crates/bulwark/tests/accepted_keys)."""

import elasticsearch
import pytest
from elasticsearch import Elasticsearch

from test_first_start import ready_client

VERSION = "8.19.0"
STREAM = f"metricbeat-{VERSION}"
PW = "beats-setup-pw-1"
POLICY = {"phases": {"hot": {"actions": {"rollover": {"max_age": "30d", "max_primary_shard_size": "50gb"}}}}}
# A subset of the `index.query.default_field` list Metricbeat's template sets (its keyword and
# text fields, and `fields.*`).
DEFAULT_FIELDS = ["message", "tags", "agent.ephemeral_id", "agent.id", "agent.name", "agent.type", "agent.version",
                  "host.hostname", "host.name", "metricset.name", "service.type", "fields.*"]
TEMPLATE = {
    "settings": {"index": {"lifecycle": {"name": "metricbeat"}, "codec": "best_compression", "number_of_shards": 1, "refresh_interval": "5s", "max_docvalue_fields_search": 200,
                           "mapping": {"total_fields": {"limit": 10000}}, "query": {"default_field": DEFAULT_FIELDS}}},
    "mappings": {
        "_meta": {"beat": "metricbeat", "version": VERSION},
        "dynamic_templates": [
            {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"container.labels": {"path_match": "container.labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"fields": {"path_match": "fields.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"docker.container.labels": {"path_match": "docker.container.labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"kubernetes.labels.*": {"path_match": "kubernetes.labels.*", "match_mapping_type": "*", "mapping": {"type": "keyword"}}},
            {"system.process.env": {"path_match": "system.process.env.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"strings_as_keyword": {"match_mapping_type": "string", "mapping": {"ignore_above": 1024, "type": "keyword"}}},
        ],
        "date_detection": False,
        "properties": {
            "@timestamp": {"type": "date"},
            "host": {"properties": {"name": {"type": "keyword", "ignore_above": 1024}}},
            "metricset": {"properties": {"name": {"type": "keyword"}, "period": {"type": "long"}}},
            "system": {"properties": {"cpu": {"properties": {"total": {"properties": {"pct": {"type": "scaled_float", "scaling_factor": 1000}}}}}}},
            "message": {"type": "match_only_text"},
        },
    },
}


def client(node, user: str) -> Elasticsearch:
    return Elasticsearch(hosts=[node.url], basic_auth=(user, PW), ca_certs=node.ca, max_retries=0)


def test_metricbeat_setup_then_ship_then_read(node):
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    roles = {
        "metricbeat_setup": {"cluster": ["monitor", "manage_ilm"], "indices": [{"names": ["metricbeat-*"], "privileges": ["manage"]}]},
        "metricbeat_writer": {"cluster": ["monitor", "read_ilm"], "indices": [{"names": ["metricbeat-*"], "privileges": ["create_doc", "auto_configure"]}]},
        "metricbeat_reader": {"indices": [{"names": ["metricbeat-*"], "privileges": ["read", "view_index_metadata"]}]},
    }
    for name, descriptor in roles.items():
        admin.security.put_role(name=name, **descriptor)
        extra = ["ingest_admin"] if name == "metricbeat_setup" else []
        admin.security.put_user(username=name, password=PW, roles=[name, *extra])

    # Setup, as libbeat does it: version, license, x-pack features, the ILM policy, the template.
    setup = client(node, "metricbeat_setup")
    assert setup.info()["version"]["number"].startswith("8.")
    assert setup.license.get()["license"]["status"] == "active"
    assert setup.xpack.info()["features"]["ilm"]["available"] is True
    with pytest.raises(elasticsearch.NotFoundError):
        setup.ilm.get_lifecycle(name="metricbeat")
    setup.ilm.put_lifecycle(name="metricbeat", policy=POLICY)
    assert setup.ilm.get_lifecycle(name="metricbeat")["metricbeat"]["policy"] == POLICY
    assert not setup.indices.exists_index_template(name=STREAM)
    setup.indices.put_index_template(
        name=STREAM, index_patterns=[STREAM], data_stream={}, priority=150, template=TEMPLATE,
        meta={"beat": "metricbeat", "version": VERSION},
    )
    assert setup.indices.exists_index_template(name=STREAM)
    got = setup.indices.get_index_template(name=STREAM)["index_templates"][0]["index_template"]
    assert got["data_stream"] == {"hidden": False, "allow_custom_routing": False}
    assert got["priority"] == 150
    # The setup user does not manage security.
    with pytest.raises(elasticsearch.AuthorizationException):
        setup.security.put_role(name="x", cluster=["all"])

    # The writer ships with `create` (what Beats sends); the first one creates the data stream.
    writer = client(node, "metricbeat_writer")
    writer.info()
    writer.ilm.get_lifecycle(name="metricbeat")
    events = [
        {"@timestamp": f"2026-12-06T10:00:0{i}.000Z", "host": {"name": "h1"}, "metricset": {"name": "cpu", "period": 10000},
         "system": {"cpu": {"total": {"pct": 0.1 * i}}}, "message": f"event {i}",
         "labels": {"env": "prod"}, "kubernetes": {"labels": {"tier": 3}}, "service": {"type": "system"}}
        for i in range(5)
    ]
    operations = []
    for e in events:
        operations += [{"create": {"_index": STREAM}}, e]
    resp = writer.bulk(operations=operations, refresh=True)
    assert resp["errors"] is False, resp
    backing = resp["items"][0]["create"]["_index"]
    assert backing.startswith(f".ds-{STREAM}-") and backing.endswith("-000001")
    # `index` is refused by a data stream, and the writer cannot replace or delete.
    resp = writer.bulk(operations=[{"index": {"_index": STREAM}}, events[0]])
    assert resp["items"][0]["index"]["status"] == 400
    with pytest.raises(elasticsearch.AuthorizationException):
        writer.delete(index=backing, id="any-id")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        writer.index(index=STREAM, document={"message": "no timestamp"}, op_type="create")
    assert "data stream timestamp field [@timestamp] is missing" in str(e.value)

    # The reader reads the stream by name; hits name the backing index.
    reader = client(node, "metricbeat_reader")
    ds = reader.indices.get_data_stream(name=STREAM)["data_streams"][0]
    assert ds["name"] == STREAM and ds["template"] == STREAM
    assert [i["index_name"] for i in ds["indices"]] == [backing]
    hits = reader.search(index=STREAM, query={"term": {"host.name": "h1"}}, sort=[{"@timestamp": "asc"}], size=10)["hits"]
    assert hits["total"]["value"] == 5
    assert {h["_index"] for h in hits["hits"]} == {backing}
    assert [h["_source"]["message"] for h in hits["hits"]] == [e["message"] for e in events]
    assert reader.count(index="metricbeat-*")["count"] == 5
    mapping = admin.indices.get_mapping(index=backing)[backing]["mappings"]["properties"]
    assert mapping["system"]["properties"]["cpu"]["properties"]["total"]["properties"]["pct"]["type"] == "scaled_float"
    # Dynamic templates mapped the fields the template does not name, as Metricbeat's expect.
    assert mapping["labels"]["properties"]["env"] == {"type": "keyword"}
    assert mapping["kubernetes"]["properties"]["labels"]["properties"]["tier"] == {"type": "keyword"}
    assert mapping["service"]["properties"]["type"] == {"type": "keyword", "ignore_above": 1024}
    assert reader.count(index=STREAM, query={"term": {"labels.env": "prod"}})["count"] == 5
    # A query naming no field searches the template's `index.query.default_field` only.
    assert reader.count(index=STREAM, q="h1")["count"] == 5
    assert reader.count(index=STREAM, query={"query_string": {"query": "event"}})["count"] == 5
    assert reader.count(index=STREAM, q="prod")["count"] == 0
    assert reader.count(index=STREAM, q="prod", df="labels.env")["count"] == 5
    settings = admin.indices.get_settings(index=backing)[backing]["settings"]["index"]
    assert settings["codec"] == "best_compression"
    assert settings["max_docvalue_fields_search"] == "200"
    assert settings["mapping"]["total_fields"]["limit"] == "10000"
    # The policy shows the backing index using it (it is stored, not executed).
    assert admin.ilm.get_lifecycle(name="metricbeat")["metricbeat"]["in_use_by"]["indices"] == [backing]
    with pytest.raises(elasticsearch.AuthorizationException):
        reader.indices.delete_data_stream(name=STREAM)
    admin.indices.delete_data_stream(name=STREAM)
    assert admin.indices.get_data_stream(name="metricbeat-*")["data_streams"] == []



def test_template_data_stream_and_policy_errors_through_the_client(node):
    es = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    es.indices.put_index_template(name="a", index_patterns=["app-*"], priority=1)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.indices.put_index_template(name="b", index_patterns=["app-x*"], priority=1)
    assert e.value.error == "illegal_argument_exception"
    assert "that have the same priority [1]" in str(e.value)
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.indices.put_index_template(name="c", index_patterns=["c-*"], composed_of=["nope"])
    assert e.value.error == "invalid_index_template_exception"
    with pytest.raises(elasticsearch.NotFoundError):
        es.indices.get_index_template(name="nope")
    with pytest.raises(elasticsearch.NotFoundError):
        es.cluster.get_component_template(name="nope")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.indices.create_data_stream(name="nomatch")
    assert "no matching index template found for data stream [nomatch]" in str(e.value)
    with pytest.raises(elasticsearch.NotFoundError):
        es.indices.get_data_stream(name="nomatch")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        es.ilm.put_lifecycle(name="p", policy={"phases": {"hot": {"actions": {"delete": {}}}}})
    assert "invalid action [delete] defined in phase [hot]" in str(e.value)
    with pytest.raises(elasticsearch.NotFoundError):
        es.ilm.delete_lifecycle(name="p")


def test_ingest_pipeline_set_up_then_applied_to_shipped_events(node):
    """The setup user stores a pipeline (through `ingest_admin`), names it as the template's
    default pipeline; the writer's events pass through it; the reader sees what it added."""
    admin = ready_client(hosts=[node.url], basic_auth=("elastic", node.password), ca_certs=node.ca)
    admin.security.put_role(name="pl_setup", cluster=["monitor"], indices=[{"names": ["pl-*"], "privileges": ["manage"]}])
    admin.security.put_user(username="pl_setup", password=PW, roles=["pl_setup", "ingest_admin"])
    admin.security.put_role(name="pl_writer", indices=[{"names": ["pl-*"], "privileges": ["create_doc", "auto_configure"]}])
    admin.security.put_user(username="pl_writer", password=PW, roles=["pl_writer"])
    admin.security.put_role(name="pl_reader", indices=[{"names": ["pl-*"], "privileges": ["read"]}])
    admin.security.put_user(username="pl_reader", password=PW, roles=["pl_reader"])

    setup = client(node, "pl_setup")
    processors = [
        {"set": {"field": "event.ingested", "value": "{{_ingest.timestamp}}"}},
        {"lowercase": {"field": "host.name"}},
        {"date": {"field": "when", "formats": ["UNIX_MS"], "target_field": "@timestamp"}},
        {"remove": {"field": "when"}},
        {"convert": {"field": "pct", "type": "double", "ignore_missing": True}},
    ]
    setup.ingest.put_pipeline(id="pl-events", description="events", processors=processors)
    assert setup.ingest.get_pipeline(id="pl-events")["pl-events"]["processors"] == processors
    sim = setup.ingest.simulate(id="pl-events", docs=[{"_source": {"host": {"name": "H1"}, "when": 0, "pct": "0.5"}}])
    src = sim["docs"][0]["doc"]["_source"]
    assert src["@timestamp"] == "1970-01-01T00:00:00.000Z" and src["host"]["name"] == "h1" and src["pct"] == 0.5
    with pytest.raises(elasticsearch.BadRequestError) as e:
        setup.ingest.put_pipeline(id="pl-bad", processors=[{"script": {"source": "ctx.x = 1"}}])
    assert e.value.error == "parse_exception" and "No processor type exists with name [script]" in str(e.value)
    setup.indices.put_index_template(
        name="pl", index_patterns=["pl-*"], data_stream={}, priority=200,
        template={"settings": {"index": {"default_pipeline": "pl-events"}}},
    )

    writer = client(node, "pl_writer")
    with pytest.raises(elasticsearch.AuthorizationException):
        writer.ingest.put_pipeline(id="pl-mine", processors=[])
    ops = []
    for i in range(3):
        ops += [{"create": {"_index": "pl-stream"}}, {"host": {"name": f"HOST{i}"}, "when": 1_000 * i, "pct": str(i / 10)}]
    resp = writer.bulk(operations=ops, refresh=True)
    assert resp["errors"] is False, resp

    reader = client(node, "pl_reader")
    hits = reader.search(index="pl-stream", sort=[{"@timestamp": "asc"}])["hits"]["hits"]
    assert [h["_source"]["host"]["name"] for h in hits] == ["host0", "host1", "host2"]
    assert [h["_source"]["@timestamp"] for h in hits] == [f"1970-01-01T00:00:0{i}.000Z" for i in range(3)]
    assert all("when" not in h["_source"] and h["_source"]["event"]["ingested"] for h in hits)
    with pytest.raises(elasticsearch.AuthorizationException):
        reader.ingest.get_pipeline(id="pl-events")
    with pytest.raises(elasticsearch.BadRequestError) as e:
        admin.ingest.delete_pipeline(id="pl-events")
    assert "cannot be deleted because it is the default pipeline" in str(e.value)
