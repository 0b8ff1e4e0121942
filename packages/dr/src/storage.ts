import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/**
 * Where backups are kept: base backups (`base/<id>/...`), archived WAL
 * (`wal/<segment>`) and Redis snapshots (`redis/<id>/...`). A local
 * directory ({@link DirectoryStorage}) or S3-compatible object storage ({@link S3Storage}).
 */
export interface BackupStorage {
  /** Stores a local file under `key`. */
  put(key: string, file: string): Promise<void>;
  /** Copies `key` to a local file. */
  fetch(key: string, file: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string | null>;
  /** Keys under `prefix` (one level: `base/` lists the backup ids). */
  list(prefix: string): Promise<string[]>;
  remove(prefix: string): Promise<void>;
  size(key: string): Promise<number>;
  /** When `key` was stored. */
  storedAt(key: string): Promise<Date>;
}

/** Backups in a local directory (also what Postgres's archive_command copies WAL into). */
export class DirectoryStorage implements BackupStorage {
  constructor(readonly root: string) {}

  private path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === ''))
      throw new RangeError(`bad key: ${key}`);
    return join(this.root, key);
  }

  async put(key: string, file: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    await pipeline(createReadStream(file), createWriteStream(to));
  }

  async fetch(key: string, file: string): Promise<void> {
    await copyFile(this.path(key), file);
  }

  async putText(key: string, text: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, text);
  }

  async getText(key: string): Promise<string | null> {
    return readFile(this.path(key), 'utf8').catch(() => null);
  }

  async list(prefix: string): Promise<string[]> {
    return (await readdir(this.path(prefix.replace(/\/$/, ''))).catch(() => [] as string[])).sort();
  }

  async remove(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }

  async size(key: string): Promise<number> {
    return (await stat(this.path(key))).size;
  }

  async storedAt(key: string): Promise<Date> {
    return (await stat(this.path(key))).mtime;
  }
}

/** Where {@link S3Storage} keeps backups, and how it reaches the bucket. */
export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket (`parley/us-east/`). @default '' */
  prefix?: string;
  client: S3Client;
}

/**
 * Backups in S3-compatible object storage (AWS S3, MinIO, Ceph, GCS's XML API):
 * the same keys as {@link DirectoryStorage} under a prefix. Large files go up
 * in parts (`@aws-sdk/lib-storage`).
 */
export class S3Storage implements BackupStorage {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ? options.prefix.replace(/\/?$/, '/') : '';
    this.client = options.client;
  }

  private key(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === ''))
      throw new RangeError(`bad key: ${key}`);
    return `${this.prefix}${key}`;
  }

  async put(key: string, file: string): Promise<void> {
    await new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(key), Body: createReadStream(file) },
    }).done();
  }

  async fetch(key: string, file: string): Promise<void> {
    const { Body } = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
    );
    await pipeline(Body as NodeJS.ReadableStream, createWriteStream(file));
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: text }),
    );
  }

  async getText(key: string): Promise<string | null> {
    try {
      const { Body } = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      return (await Body?.transformToString('utf8')) ?? null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.key(prefix.replace(/\/$/, '')) + '/';
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: base,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix) names.add(p.Prefix.slice(base.length).replace(/\/$/, ''));
      for (const o of page.Contents ?? []) if (o.Key) names.add(o.Key.slice(base.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter(Boolean).sort();
  }

  /** Removes the object `prefix` and everything under `prefix/`. */
  async remove(prefix: string): Promise<void> {
    const key = this.key(prefix.replace(/\/$/, ''));
    const keys = [key];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${key}/`,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < keys.length; i += 1000)
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
  }

  async size(key: string): Promise<number> {
    return (await this.head(key)).ContentLength ?? 0;
  }

  async storedAt(key: string): Promise<Date> {
    return (await this.head(key)).LastModified ?? new Date(0);
  }

  private head(key: string) {
    return this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/**
 * The storage the environment names: `PARLEY_BACKUP_URL=s3://bucket/prefix`
 * (credentials and region from the AWS SDK's usual chain; `PARLEY_S3_ENDPOINT`
 * for a non-AWS endpoint, path-style), else `PARLEY_BACKUP_DIR`.
 */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): BackupStorage {
  const url = env.PARLEY_BACKUP_URL;
  if (url) {
    const u = new URL(url);
    if (u.protocol !== 's3:' || !u.hostname)
      throw Object.assign(new Error('PARLEY_BACKUP_URL must be s3://bucket[/prefix]'), {
        code: 'DR_ERR_USAGE',
      });
    const endpoint = env.PARLEY_S3_ENDPOINT;
    return new S3Storage({
      bucket: u.hostname,
      prefix: u.pathname.replace(/^\//, ''),
      client: new S3Client({
        region: env.AWS_REGION ?? 'us-east-1',
        // A non-AWS endpoint (MinIO, Ceph, moto): path-style, and checksums only
        // where the API requires them (their multipart checksums differ from
        // AWS's). Backups carry their own sha256; WAL records their own CRC.
        ...(endpoint
          ? {
              endpoint,
              forcePathStyle: true,
              requestChecksumCalculation: 'WHEN_REQUIRED' as const,
              responseChecksumValidation: 'WHEN_REQUIRED' as const,
            }
          : {}),
      }),
    });
  }
  const dir = env.PARLEY_BACKUP_DIR;
  if (!dir)
    throw Object.assign(new Error('set PARLEY_BACKUP_URL (s3://...) or PARLEY_BACKUP_DIR'), {
      code: 'DR_ERR_USAGE',
    });
  return new DirectoryStorage(dir);
}
