// An S3 endpoint that accepts connections and never answers (a hung load balancer, a stalled
// gateway): calls end with UNAVAILABLE after the request timeout and retries, and once the
// circuit is open no further connection is even attempted.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { S3Backend } from '../../src/vfs/backends/s3.js';
import type { VfsError } from '../../src/vfs/errors.js';

let server: net.Server;
const sockets = new Set<net.Socket>();
let connections = 0;

before(async () => {
  server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a silent S3 gives UNAVAILABLE after timeouts, then the open circuit fails without connecting', { timeout: 60_000 }, async () => {
  const backend = new S3Backend({
    bucket: 'silent',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accessKeyId: 'k',
    secretAccessKey: 's',
    partSize: 5 * 1024 * 1024,
    queueSize: 1,
    requestTimeoutMs: 300,
    maxAttempts: 2,
    breakerThreshold: 2,
    breakerCooldownMs: 60_000,
  });
  try {
    for (let i = 0; i < 2; i++) {
      await assert.rejects(backend.stat('0123456789abcdef0123456789abcdef'), (err: VfsError) => err.code === 'UNAVAILABLE');
    }
    assert.equal(backend.breaker.status, 'open');
    const seen = connections;
    await assert.rejects(backend.read('0123456789abcdef0123456789abcdef'), (err: VfsError) => err.code === 'UNAVAILABLE' && err.details.retryAfter! > 0);
    await assert.rejects(backend.ping(), (err: VfsError) => err.code === 'UNAVAILABLE');
    assert.equal(connections, seen, 'no connection attempted while the circuit is open');
  } finally {
    await backend.close();
  }
});
