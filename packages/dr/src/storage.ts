import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Where backups are kept: base backups (`base/<id>/...`) and archived WAL
 * (`wal/<segment>`). A local directory here; S3-compatible object storage in
 * production implements the same five operations.
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
