import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small in-memory S3 for what s3rver lacks — used ONLY for these:
 *  - AbortMultipartUpload (DELETE ?uploadId): s3rver answers 405, so "a cut-off
 *    multipart upload leaves no pending upload" cannot be observed there;
 *  - the set of pending multipart uploads (`pendingUploads`, what
 *    ListMultipartUploads would show; s3rver has no such listing);
 *  - UploadPartCopy (PUT ?partNumber&uploadId with x-amz-copy-source): s3rver
 *    answers NotImplemented; it is the >5 GiB copy path.
 * Around those it speaks just enough S3 (path-style, no signature checks) for
 * S3Backend to run: HeadBucket, Put/Get/Head/Delete/CopyObject, ListObjectsV2,
 * Create/UploadPart/CompleteMultipartUpload. Objects live in memory, so keep
 * test bodies to tens of MiB.
 */
export class FakeS3 {
  readonly objects = new Map<string, { data: Buffer; mtime: Date }>();
  readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  readonly abortedUploads: string[] = [];
  readonly partCopies: Array<{ uploadId: string; range: string }> = [];
  private server: Server | null = null;
  endpoint = '';

  constructor(readonly bucket = 'fake-bucket') {}

  pendingUploads(): string[] {
    return [...this.uploads.keys()];
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.error(res, 500, 'InternalError', err.message);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    const closed = new Promise((resolve) => s.close(resolve));
    s.closeAllConnections();
    await closed;
  }

  private error(res: ServerResponse, status: number, code: string, message = code): void {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(status === 404 && code === 'NotFound' ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  }

  private xml(res: ServerResponse, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(200, { 'content-type': 'application/xml', ...headers });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const q = url.searchParams;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (bucket !== this.bucket) return this.error(res, 404, 'NoSuchBucket');
    const method = req.method!;

    if (!key) {
      if (method === 'HEAD') return void res.writeHead(200).end();
      if (method === 'GET' && q.get('list-type') === '2') {
        const prefix = q.get('prefix') ?? '';
        const items = [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
        const contents = items.map(([k, o]) => `<Contents><Key>${k}</Key><Size>${o.data.length}</Size><LastModified>${o.mtime.toISOString()}</LastModified></Contents>`).join('');
        return this.xml(res, `<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${items.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
      }
      return this.error(res, 501, 'NotImplemented');
    }

    const uploadId = q.get('uploadId');
    const copySource = req.headers['x-amz-copy-source'] as string | undefined;
    if (method === 'POST' && q.has('uploads')) {
      const id = randomUUID();
      this.uploads.set(id, { key, parts: new Map() });
      return this.xml(res, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (uploadId) {
      const upload = this.uploads.get(uploadId);
      if (!upload) return this.error(res, 404, 'NoSuchUpload');
      if (method === 'PUT') {
        let data: Buffer = body;
        if (copySource) {
          const src = this.source(copySource);
          if (!src) return this.error(res, 404, 'NoSuchKey');
          const range = String(req.headers['x-amz-copy-source-range'] ?? '');
          const m = /^bytes=(\d+)-(\d+)$/.exec(range);
          data = m ? src.data.subarray(Number(m[1]), Number(m[2]) + 1) : src.data;
          this.partCopies.push({ uploadId, range });
        }
        upload.parts.set(Number(q.get('partNumber')), data);
        const etag = `"${createHash('md5').update(data).digest('hex')}"`;
        if (copySource) return this.xml(res, `<CopyPartResult><ETag>${etag}</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyPartResult>`);
        return void res.writeHead(200, { etag }).end();
      }
      if (method === 'POST') {
        const numbers = [...body.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
        const data = Buffer.concat(numbers.map((n) => upload.parts.get(n) ?? Buffer.alloc(0)));
        this.objects.set(key, { data, mtime: new Date() });
        this.uploads.delete(uploadId);
        return this.xml(res, `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"x-${numbers.length}"</ETag></CompleteMultipartUploadResult>`);
      }
      if (method === 'DELETE') {
        this.uploads.delete(uploadId);
        this.abortedUploads.push(uploadId);
        return void res.writeHead(204).end();
      }
      return this.error(res, 405, 'MethodNotAllowed');
    }

    const obj = this.objects.get(key);
    switch (method) {
      case 'PUT':
        if (copySource) {
          const src = this.source(copySource);
          if (!src) return this.error(res, 404, 'NoSuchKey');
          this.objects.set(key, { data: src.data, mtime: new Date() });
          return this.xml(res, `<CopyObjectResult><ETag>"c"</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`);
        }
        this.objects.set(key, { data: body, mtime: new Date() });
        return void res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      case 'HEAD':
        if (!obj) return this.error(res, 404, 'NotFound');
        return void res.writeHead(200, { 'content-length': obj.data.length, 'last-modified': obj.mtime.toUTCString() }).end();
      case 'GET': {
        if (!obj) return this.error(res, 404, 'NoSuchKey');
        const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
        if (!m) return void res.writeHead(200, { 'content-length': obj.data.length }).end(obj.data);
        const start = Number(m[1]);
        const end = Math.min(Number(m[2]), obj.data.length - 1);
        res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${obj.data.length}` });
        return void res.end(obj.data.subarray(start, end + 1));
      }
      case 'DELETE':
        this.objects.delete(key);
        return void res.writeHead(204).end();
    }
    return this.error(res, 405, 'MethodNotAllowed');
  }

  private source(header: string) {
    const path = decodeURIComponent(header.replace(/^\//, '').split('?')[0]!);
    const slash = path.indexOf('/');
    return path.slice(0, slash) === this.bucket ? this.objects.get(path.slice(slash + 1)) : undefined;
  }
}
