import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenFile } from '../../src/fuse/open-file.js';
import { RestClient, STREAMED_UPLOADS } from '../../src/fuse/rest-client.js';
import { RemoteError } from '../../src/fuse/errno.js';
import { startTestServer, ADMIN_KEY, type TestServer } from '../helpers/server.js';
import { waitFor } from './mount-helper.js';

const MIB = 1024 * 1024;
/** The size of the kernel's write requests through the mount. */
const WRITE = 128 * 1024;

/** A TCP relay in front of the server: counts what each connection sends upstream, and can cut every connection. */
async function startRelay(target: URL): Promise<{ url: string; sentPerConnection: number[]; sent(): number; cutAll(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const sentPerConnection: number[] = [];
  const relay = net.createServer((client) => {
    const index = sentPerConnection.push(0) - 1;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => (sentPerConnection[index]! += chunk.length));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sentPerConnection,
    sent: () => sentPerConnection.reduce((a, b) => a + b, 0),
    cutAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => relay.close(() => resolve()));
    },
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Writes `content` from `offset` in the kernel's request size, one request after the other as a single writer's are. */
async function writeInOrder(file: OpenFile, content: Buffer, offset = 0): Promise<void> {
  for (let at = 0; at < content.length; at += WRITE) {
    const piece = content.subarray(at, Math.min(at + WRITE, content.length));
    assert.equal(await file.write(piece, piece.length, offset + at), piece.length);
  }
}

/**
 * The mount's upload while a file is written (OpenFile + RestClient against a real server,
 * through a relay that shows what went over the wire and can cut it).
 */
describe('callfs mount: a file written front to back is uploaded as it is written', () => {
  let server: TestServer;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let client: RestClient;
  let spoolDir: string;

  before(async () => {
    server = await startTestServer();
    relay = await startRelay(new URL(server.url));
    client = new RestClient({ serverUrl: relay.url, apiKey: ADMIN_KEY, timeoutMs: 30_000 });
    spoolDir = await mkdtemp(path.join(tmpdir(), 'callfs-spool-test-'));
  });

  after(async () => {
    client?.close();
    await relay?.close();
    await server?.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  /** Writes `content` from the start and waits until all of it has gone over the wire: the upload is under way. */
  async function writeStreamed(file: OpenFile, content: Buffer): Promise<void> {
    const before = relay.sent();
    await writeInOrder(file, content);
    await waitFor(`${content.length} written bytes to reach the server before any flush`, () => relay.sent() - before >= content.length);
  }

  const created = (name: string, mode = 0o644) => new OpenFile(`/${name}`, 0, client, spoolDir, { createMode: mode });

  async function serverContent(name: string): Promise<Buffer | null> {
    const res = await server.request('GET', `/v1/files/${name}`);
    if (res.status === 404) return null;
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  }

  it('is on its way before it is closed, stored only when flushed, and not sent twice', async () => {
    const content = randomBytes(3 * MIB + 12_345);
    const file = created('streamed.bin', 0o640);
    await writeStreamed(file, content);
    assert.equal(await serverContent('streamed.bin'), null, 'nothing is stored before the flush');
    const atFlush = relay.sent();
    const stored = await file.flush();
    assert.ok(relay.sent() - atFlush < 64 * 1024, `the flush sent ${relay.sent() - atFlush} bytes; the content had gone already`);
    assert.equal(stored?.size, content.length);
    assert.equal(stored?.mode, 0o640, 'the create mode went with the upload');
    assert.equal(sha256((await serverContent('streamed.bin'))!), sha256(content));
    assert.equal(await file.flush(), null, 'nothing pending afterwards');
    await file.dispose();
  });

  it('is not started for a file under a mebibyte: it goes up in one request on flush', async () => {
    const content = randomBytes(MIB - 1);
    const file = created('small.bin');
    const before = relay.sent();
    await writeInOrder(file, content);
    assert.ok(relay.sent() - before < 4096, 'nothing sent while writing');
    await file.flush();
    assert.equal(sha256((await serverContent('small.bin'))!), sha256(content));
    await file.dispose();
  });

  it('is given up by a write out of order, and the spool goes up instead', async () => {
    const content = randomBytes(3 * MIB);
    const file = created('rewritten.bin');
    await writeStreamed(file, content);
    const patch = randomBytes(4096);
    await file.write(patch, patch.length, 1000);
    patch.copy(content, 1000);
    const atFlush = relay.sent();
    await file.flush();
    assert.ok(relay.sent() - atFlush >= content.length, 'the whole file was uploaded again');
    assert.equal(sha256((await serverContent('rewritten.bin'))!), sha256(content));
    await file.dispose();
  });

  it('is given up by a truncate, and starts again for what is written after it', async () => {
    const file = created('truncated.bin');
    await writeInOrder(file, randomBytes(2 * MIB));
    await file.truncate(0);
    const content = randomBytes(Math.round(1.5 * MIB));
    await writeStreamed(file, content);
    assert.equal(await serverContent('truncated.bin'), null, 'the given-up upload stored nothing');
    const atFlush = relay.sent();
    await file.flush();
    assert.ok(relay.sent() - atFlush < 64 * 1024, 'streamed, not uploaded again');
    assert.equal(sha256((await serverContent('truncated.bin'))!), sha256(content));
    await file.dispose();
  });

  it('survives its connection being cut: the writes succeed and the flush uploads the spool', async () => {
    const content = randomBytes(3 * MIB);
    const file = created('cut.bin');
    await writeStreamed(file, content.subarray(0, 2 * MIB));
    relay.cutAll();
    await writeInOrder(file, content.subarray(2 * MIB), 2 * MIB);
    await file.flush();
    assert.equal(sha256((await serverContent('cut.bin'))!), sha256(content));
    await file.dispose();
  });

  it('sets an mtime and mode given after it started, with the content', async () => {
    const file = created('attributes.bin');
    const content = randomBytes(2 * MIB);
    await writeInOrder(file, content);
    const mtimeMs = Date.parse('2020-02-03T04:05:06.000Z');
    assert.ok(file.deferMtime(mtimeMs));
    assert.ok(file.deferMode(0o600));
    const stored = await file.flush();
    assert.equal(stored?.mtimeMs, mtimeMs);
    assert.equal(stored?.mode, 0o600);
    const head = await server.request('HEAD', '/v1/files/attributes.bin');
    assert.equal(head.headers.get('x-callfs-mode'), '0600');
    assert.equal(Date.parse(head.headers.get('x-callfs-mtime')!), mtimeMs);
    assert.equal(sha256((await serverContent('attributes.bin'))!), sha256(content));
    await file.dispose();
  });

  it('reports the server refusing the file, stores nothing, and keeps the content', async () => {
    const file = new OpenFile('/no-such-dir/refused.bin', 0, client, spoolDir, { createMode: 0o644 });
    await writeInOrder(file, randomBytes(2 * MIB));
    await assert.rejects(file.flush(), (err: unknown) => err instanceof RemoteError && err.errno === constants.errno.ENOENT);
    assert.equal(file.isDirty, true, 'still pending');
    const kept = await file.dispose();
    assert.ok(kept, 'the spool file is kept');
    await rm(kept, { force: true });
    assert.equal((await server.request('GET', '/v1/files/no-such-dir/refused.bin')).status, 404);
  });

  it('is dropped for a file another was renamed over: nothing is stored', async () => {
    const file = created('detached.bin');
    await writeStreamed(file, randomBytes(2 * MIB));
    file.detach();
    assert.equal(await file.flush(), null);
    await file.dispose();
    assert.equal(await serverContent('detached.bin'), null);
  });

  it(`runs at most ${STREAMED_UPLOADS} at once, on connections given back when they end`, async () => {
    const files = Array.from({ length: STREAMED_UPLOADS + 1 }, (_, i) => created(`many-${i}.bin`));
    const contents = files.map(() => randomBytes(2 * MIB));
    const connectionsBefore = relay.sentPerConnection.length;
    for (let at = 0; at < 2 * MIB; at += WRITE) {
      for (const [i, file] of files.entries()) await file.write(contents[i]!.subarray(at, at + WRITE), WRITE, at);
    }
    await waitFor(`${STREAMED_UPLOADS} uploads to be under way`, () => relay.sentPerConnection.slice(connectionsBefore).filter((n) => n >= 2 * MIB).length === STREAMED_UPLOADS);
    assert.equal(relay.sentPerConnection.slice(connectionsBefore).filter((n) => n >= MIB).length, STREAMED_UPLOADS, 'the last file waits for its flush');
    for (const file of files) await file.flush();
    for (const [i, content] of contents.entries()) assert.equal(sha256((await serverContent(`many-${i}.bin`))!), sha256(content), `many-${i}.bin`);
    // Every slot is free again: the next file streams.
    const next = created('after-many.bin');
    await writeStreamed(next, randomBytes(2 * MIB));
    await next.flush();
    for (const file of [...files, next]) await file.dispose();
  });

  it('leaves no blob behind on the server for the uploads it gave up', async () => {
    const blobFiles = async (dir: string): Promise<number> => {
      let count = 0;
      for (const entry of await readdir(dir, { withFileTypes: true })) count += entry.isDirectory() ? await blobFiles(path.join(dir, entry.name)) : 1;
      return count;
    };
    const listed = (await (await server.request('GET', '/v1/directories/')).json()) as { items: Array<{ name: string; size: number }> };
    // Content up to inline_max_bytes lives in the database; each larger stored file has one blob file, and nothing else may be there.
    const stored = listed.items.filter((item) => item.size > server.config.backend.inline_max_bytes).length;
    const root = server.config.backend.localfs_root_path ?? path.join(server.dataDir, 'localfs');
    // The server removes a given-up upload's partial blob when it sees the connection gone, which may be just after the flush.
    await waitFor(`${stored} blob files under ${root}, one per stored file`, async () => (await blobFiles(root)) === stored);
  });
});
