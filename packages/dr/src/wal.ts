import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BackupStorage } from './storage.js';

const SEGMENT = /^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$|^[0-9A-F]{8}\.history$/;

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

function checkName(name: string): string {
  if (!SEGMENT.test(name)) throw coded('DR_ERR_USAGE', `not a WAL file name: ${basename(name)}`);
  return name;
}

/**
 * Postgres's archive_command for object storage: stores `path` as `wal/<name>`.
 * A segment already archived with the same size is success (Postgres may
 * retry after a crash); a different one is an error, never overwritten.
 */
export async function walPush(storage: BackupStorage, path: string, name: string): Promise<void> {
  const key = `wal/${checkName(name)}`;
  const local = (await stat(path)).size;
  const stored = await storage.size(key).catch(() => undefined);
  if (stored !== undefined) {
    if (stored === local) return;
    throw coded(
      'DR_ERR_WAL_EXISTS',
      `${key} is archived already with another size; not overwriting it`,
    );
  }
  await storage.put(key, path);
}

/**
 * Postgres's restore_command for object storage: fetches `wal/<name>` to
 * `path`, or the segment being written when the stream stopped
 * (`wal/<name>.partial`, see {@link WalStream}); fails when neither is there.
 */
export async function walFetch(storage: BackupStorage, name: string, path: string): Promise<void> {
  const key = `wal/${checkName(name)}`;
  try {
    await storage.fetch(key, path);
  } catch (err) {
    if (!/^[0-9A-F]{24}$/.test(name)) throw err;
    await storage.fetch(`${key}.partial`, path).catch(() => {
      throw err;
    });
  }
}
