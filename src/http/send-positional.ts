import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { noteFreshBuffers } from '../heap-ceiling.js';
import type { PositionalReader } from '../vfs/backends/backend.js';

const CHUNK_BYTES = 512 * 1024;

/**
 * Sends `length` bytes of `reader`, from `start` on, as the body of `reply`,
 * through two buffers used in turn: one is read into while the socket writes
 * the other, and a buffer is read into again only once the socket has taken all
 * of its previous bytes.
 *
 * Why not a stream: a file stream allocates a new buffer per chunk. Once a
 * server holds a few tens of MB of live heap, V8 answered that churn with a
 * full collection every ~16 MiB sent: a 1 GiB GET took four times the CPU and
 * ran at half the speed.
 *
 * The reply is hijacked: the status and headers set on it are written here, and
 * fastify's onResponse hooks still run when the response finishes. Bytes are only
 * read after the headers are out, so a read that fails, or a file shorter than
 * its metadata, cuts the connection (as a failing stream does): the client sees
 * an incomplete body, never a wrong one.
 */
export async function sendPositional(reply: FastifyReply, reader: PositionalReader, start: number, length: number): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  let closedEarly = false;
  const closed = new Promise<void>((resolve) =>
    res.once('close', () => {
      closedEarly = !res.writableFinished;
      resolve();
    }),
  );
  const buffers = [Buffer.allocUnsafeSlow(Math.min(CHUNK_BYTES, length)), Buffer.allocUnsafeSlow(Math.min(CHUNK_BYTES, length))];
  noteFreshBuffers(2 * buffers[0]!.length);
  const flushed: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    let sent = 0;
    for (let turn = 0; sent < length; turn ^= 1) {
      await Promise.race([flushed[turn], closed]);
      if (closedEarly) return;
      const chunk = buffers[turn]!.subarray(0, Math.min(CHUNK_BYTES, length - sent));
      const read = await reader.read(chunk, start + sent).catch((err: unknown) => {
        throw new ReadFailure(err);
      });
      if (read < chunk.length) throw new ReadFailure(new Error(`content ended after ${sent + read} of ${length} bytes`));
      sent += read;
      flushed[turn] = new Promise<void>((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve())));
      // Awaited on the buffer's next turn or at the end; a client that leaves first is handled through `closed`.
      flushed[turn]!.catch(() => {});
    }
    await Promise.race([Promise.all(flushed), closed]);
    if (!closedEarly) res.end();
  } catch (err) {
    // A write that fails means the client is gone: nothing to report.
    if (err instanceof ReadFailure) reply.log.warn({ err: err.cause }, 'reading a file failed after its headers were sent: connection cut');
    res.destroy();
  } finally {
    await reader.close().catch(() => {});
  }
}

class ReadFailure extends Error {
  constructor(cause: unknown) {
    super('read failed', { cause });
  }
}
