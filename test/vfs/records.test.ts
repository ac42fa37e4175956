import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeFromNew } from '../../src/vfs/metadata/rows.js';
import type { NewNode } from '../../src/vfs/metadata/store.js';
import { entryAt, type NodeRecord } from '../../src/vfs/types.js';

// Every field set, and to a value no other field has, so a field left out or read from the wrong place shows.
const NEW_NODE: NewNode = {
  parentId: 7, name: 'report.pdf', type: 'file', size: 4096, mode: 0o640, uid: 1001, gid: 1002,
  mtimeMs: 1_700_000_000_001, ctimeMs: 1_700_000_000_002, btimeMs: 1_700_000_000_003,
  etag: 'etag-1', blobKey: 'blob-1', backend: 'local', instanceId: 'node-a',
};
const RECORD: NodeRecord = { id: 42, ...NEW_NODE };

describe('Records written out field by field', () => {
  test('entryAt is the record with its path, and nothing else', () => {
    assert.deepEqual(entryAt(RECORD, '/docs/report.pdf'), { ...RECORD, path: '/docs/report.pdf' });
    assert.deepEqual(Object.keys(entryAt(RECORD, '/x')).sort(), [...Object.keys(RECORD), 'path'].sort());
  });

  test('nodeFromNew is the new node with its id, in the field order of a row read back', () => {
    const made = nodeFromNew(42, NEW_NODE);
    assert.deepEqual(made, RECORD);
    assert.deepEqual(Object.keys(made), ['id', ...Object.keys(NEW_NODE)]);
  });
});
