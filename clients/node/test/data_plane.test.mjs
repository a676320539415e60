// The data plane with the official Node.js client: index, search and bulk, over TLS pinned by
// the CA fingerprint, as the `elastic` user.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errors } from '@elastic/elasticsearch';

import { clientFor, ready, startNode } from './node.mjs';

let node;
let client;

before(async () => {
  node = await startNode();
  client = await ready(clientFor(node));
});

after(async () => {
  await client?.close();
  await node?.stop();
});

test('index a document and find it', async () => {
  await client.indices.create({
    index: 'songs',
    mappings: { properties: { title: { type: 'text' }, year: { type: 'integer' } } },
  });
  const r = await client.index({
    index: 'songs',
    id: '1',
    document: { title: 'Blue in Green', year: 1959 },
    refresh: 'wait_for',
  });
  assert.equal(r.result, 'created');
  assert.equal(r._version, 1);
  await client.index({ index: 'songs', document: { title: 'So What', year: 1959 }, refresh: true });

  const s = await client.search({ index: 'songs', query: { match: { title: 'blue' } } });
  assert.deepEqual(s.hits.total, { value: 1, relation: 'eq' });
  assert.equal(s.hits.hits[0]._id, '1');
  assert.equal(s.hits.hits[0]._source.title, 'Blue in Green');
  assert.ok(s.hits.hits[0]._score > 0);

  const byYear = await client.search({ index: 'songs', query: { term: { year: 1959 } }, sort: [{ year: 'asc' }] });
  assert.equal(byYear.hits.total.value, 2);
  assert.equal((await client.get({ index: 'songs', id: '1' }))._source.year, 1959);
  await assert.rejects(client.get({ index: 'songs', id: 'nope' }), errors.ResponseError);
  await assert.rejects(client.search({ index: 'songs', query: { no_such_query: {} } }), (e) => {
    assert.equal(e.meta.statusCode, 400);
    assert.equal(e.body.error.type, 'parsing_exception');
    return true;
  });
});

test('bulk: the helper, then per-item errors', async () => {
  const docs = Array.from({ length: 1000 }, (_, i) => ({ i, genre: i % 3 === 0 ? 'jazz' : 'rock' }));
  const result = await client.helpers.bulk({
    datasource: docs,
    onDocument: (doc) => ({ index: { _index: 'tracks', _id: String(doc.i) } }),
    refreshOnCompletion: 'tracks',
  });
  assert.equal(result.total, 1000);
  assert.equal(result.successful, 1000);
  assert.equal(result.failed, 0);

  const { count } = await client.count({ index: 'tracks', query: { term: { 'genre.keyword': 'jazz' } } });
  assert.equal(count, docs.filter((d) => d.genre === 'jazz').length);
  const aggs = await client.search({
    index: 'tracks',
    size: 0,
    aggs: { genres: { terms: { field: 'genre.keyword' } } },
  });
  const buckets = Object.fromEntries(aggs.aggregations.genres.buckets.map((b) => [b.key, b.doc_count]));
  assert.deepEqual(buckets, { rock: 666, jazz: 334 });

  const b = await client.bulk({
    refresh: true,
    operations: [
      { index: { _index: 'tracks', _id: 'bad' } },
      { i: 'not a number' },
      { create: { _index: 'tracks', _id: '1' } },
      { i: 1 },
      { create: { _index: 'tracks', _id: 'new' } },
      { i: 1001, genre: 'blues' },
      { delete: { _index: 'tracks', _id: '2' } },
    ],
  });
  assert.equal(b.errors, true);
  const statuses = b.items.map((item) => Object.values(item)[0].status);
  assert.deepEqual(statuses, [400, 409, 201, 200]);
  assert.equal(b.items[0].index.error.type, 'mapper_parsing_exception');
  assert.equal(b.items[1].create.error.type, 'version_conflict_engine_exception');
  assert.equal((await client.count({ index: 'tracks' })).count, 1000);
});

test('a CA fingerprint that does not match is refused before any request is sent', async () => {
  const wrong = node.fingerprint.replace(/^../, node.fingerprint.startsWith('00') ? '11' : '00');
  const pinned = clientFor(node, { caFingerprint: wrong, maxRetries: 0 });
  await assert.rejects(pinned.info(), /fingerprint/i);
  await pinned.close();
});
