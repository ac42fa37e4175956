import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
  type ObjectCannedACL,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { VfsError } from '../errors.js';
import type { ByteRange } from '../types.js';
import type { Backend, BlobInfo, StoredBlob, WriteOptions } from './backend.js';
import { BLOB_KEY_PATTERN, newBlobKey } from './blob-key.js';
import { byteWindow, contentRangeStart } from './byte-window.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { SizeGuard } from './size-guard.js';

export interface S3BackendOptions {
  bucket: string;
  region: string;
  /** S3-compatible endpoint (MinIO, Ceph, Garage…); implies path-style addressing. */
  endpoint?: string;
  /** Static credentials; without them the standard AWS chain (env, profile, IMDS…) is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  acl?: string;
  partSize: number;
  queueSize: number;
  /** Object key prefix of blobs. */
  prefix?: string;
  /** Idle socket timeout per request, and TCP connect timeout, ms. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Attempts per request including the first (SDK standard retry with exponential backoff). */
  maxAttempts?: number;
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  /** Objects larger than this are copied with UploadPartCopy (S3's CopyObject stops at 5 GiB). */
  multipartCopyThreshold?: number;
}

const FIVE_GIB = 5 * 1024 ** 3;

/** A SizeGuard that also fails the stream at its end when the body was short, before S3 completes the object. */
class StrictLength extends SizeGuard {
  override _flush(done: (err?: Error | null) => void): void {
    try {
      this.finish();
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return httpStatus(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Whether an error means S3 could not be reached or is failing (no HTTP answer,
 * a timeout, a 5xx, throttling), as opposed to an answer about the request.
 */
function isOutage(err: unknown): boolean {
  if (err instanceof VfsError) return false;
  const status = httpStatus(err);
  if (status !== undefined) return status >= 500 || status === 429;
  const name = (err as { name?: string })?.name;
  return name !== 'AbortError';
}

/**
 * Blobs as objects `<prefix><key>` in one bucket. Writes stream through
 * lib-storage's multipart Upload (memory: part size × queue size), reads pass
 * ranges through to S3, and every call goes through a circuit breaker so an
 * unreachable S3 answers UNAVAILABLE at once instead of hanging requests.
 */
export class S3Backend implements Backend {
  readonly type = 's3';
  readonly nodeLocal = false;
  readonly client: S3Client;
  readonly breaker: CircuitBreaker;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly copyThreshold: number;

  constructor(private readonly options: S3BackendOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? 'blobs/';
    this.copyThreshold = options.multipartCopyThreshold ?? FIVE_GIB;
    const credentials = options.accessKeyId && options.secretAccessKey ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } : undefined;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(credentials ? { credentials } : {}),
      maxAttempts: options.maxAttempts ?? 3,
      retryMode: 'standard',
      // Without throwOnRequestTimeout this SDK only logs a warning and lets a silent S3 hang the request forever.
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: options.connectionTimeoutMs ?? 5_000, throwOnRequestTimeout: true },
      // Checksums over streamed bodies of unknown length would need buffering on some SDK paths.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.breaker = new CircuitBreaker({
      name: `S3 bucket ${options.bucket}`,
      failureThreshold: options.breakerThreshold ?? 3,
      cooldownMs: options.breakerCooldownMs ?? 10_000,
    });
  }

  private objectKey(key: string): string {
    if (!BLOB_KEY_PATTERN.test(key)) throw new VfsError('INTERNAL', `malformed blob key ${JSON.stringify(key)}`);
    return this.prefix + key;
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return this.breaker.run(fn, isOutage);
  }

  private get writeParams() {
    const o = this.options;
    return {
      ...(o.serverSideEncryption ? { ServerSideEncryption: o.serverSideEncryption as ServerSideEncryption } : {}),
      ...(o.kmsKeyId ? { SSEKMSKeyId: o.kmsKeyId } : {}),
      ...(o.acl ? { ACL: o.acl as ObjectCannedACL } : {}),
    };
  }

  async write(source: Readable, options: WriteOptions = {}): Promise<StoredBlob> {
    const key = newBlobKey();
    const guard = new StrictLength(options.expectedSize);
    // A failing or aborted source fails the body, which makes Upload abort its multipart upload before rejecting.
    let bodyError: Error | null = null;
    const fail = (err: Error) => {
      bodyError ??= err;
      guard.destroy(err);
    };
    source.once('error', fail);
    guard.once('error', (err: Error) => void (bodyError ??= err));
    const onAbort = () => {
      const reason: unknown = options.signal?.reason;
      const err = reason instanceof Error ? reason : Object.assign(new Error('the write was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
      source.destroy(err);
      fail(err);
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    source.pipe(guard);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: guard, ...this.writeParams },
      partSize: this.options.partSize,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
    });
    try {
      // The body's own failure (client gone, wrong length) says nothing about S3's health.
      await this.breaker.run(
        () => upload.done().catch((err: unknown) => Promise.reject(bodyError ?? err)),
        (err) => err !== bodyError && isOutage(err),
      );
      return { key, size: guard.bytes };
    } catch (err) {
      // Belt and braces: an object whose completion answer was lost must not survive either.
      if (!(err instanceof VfsError && err.code === 'UNAVAILABLE')) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })).catch(() => {});
      throw err;
    } finally {
      // `fail` stays subscribed: a body that errors later (client gone after a refusal) must find a listener.
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    const out = await this.call(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range }))).catch((err: unknown) => {
      if (isNotFound(err)) throw new VfsError('NOT_FOUND', `content of this file is missing from the s3 backend (blob ${key})`);
      throw err;
    });
    const body = out.Body as Readable;
    if (!range) return body;
    // Pass the answer through unless the server sent more than the range asked for.
    const start = contentRangeStart(out.ContentRange);
    const wanted = range.end - range.start + 1;
    if (start === range.start && out.ContentLength === wanted) return body;
    return byteWindow(body, range.start - start, wanted);
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const head = await this.call(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
      return { key, size: head.ContentLength ?? 0, mtimeMs: head.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
  }

  async copy(key: string): Promise<StoredBlob> {
    const info = await this.stat(key);
    if (!info) throw new VfsError('NOT_FOUND', `content of this file is missing from the s3 backend (blob ${key})`);
    const target = newBlobKey();
    const CopySource = `${this.bucket}/${this.objectKey(key)}`;
    if (info.size <= this.copyThreshold) {
      await this.call(() => this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.objectKey(target), CopySource, ...this.writeParams })));
    } else {
      await this.multipartCopy(CopySource, target, info.size);
    }
    return { key: target, size: info.size };
  }

  /** Server-side copy in parts, for objects beyond CopyObject's 5 GiB limit. */
  private async multipartCopy(CopySource: string, target: string, size: number): Promise<void> {
    const Key = this.objectKey(target);
    const { UploadId } = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ...this.writeParams })));
    try {
      // S3 allows at most 10,000 parts; UploadPartCopy parts may be up to 5 GiB.
      const partSize = Math.max(this.options.partSize, Math.ceil(size / 10_000));
      const parts: Array<{ PartNumber: number; ETag?: string }> = [];
      for (let start = 0, n = 1; start < size; start += partSize, n++) {
        const end = Math.min(size, start + partSize) - 1;
        const out = await this.call(() =>
          this.client.send(new UploadPartCopyCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: n, CopySource, CopySourceRange: `bytes=${start}-${end}` })),
        );
        parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
      }
      await this.call(() => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
      throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken })));
      for (const obj of page.Contents ?? []) {
        const key = obj.Key?.slice(this.prefix.length) ?? '';
        if (BLOB_KEY_PATTERN.test(key)) yield { key, size: obj.Size ?? 0, mtimeMs: obj.LastModified?.getTime() ?? 0 };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
