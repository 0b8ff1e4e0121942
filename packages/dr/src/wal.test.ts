import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryStorage } from './storage.js';
import { walFetch, walPush } from './wal.js';

describe('wal-push and wal-fetch', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const setup = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-wal-'));
    dirs.push(dir);
    return { dir, storage: new DirectoryStorage(join(dir, 'store')) };
  };
  const segment = '000000010000000000000003';

  it('archives a segment once, accepts the same one again, and never overwrites a different one', async () => {
    const { dir, storage } = await setup();
    const file = join(dir, 'seg');
    await writeFile(file, Buffer.alloc(1024, 1));
    await walPush(storage, file, segment);
    await walPush(storage, file, segment); // Postgres retrying after a crash
    await writeFile(file, Buffer.alloc(2048, 2));
    await expect(walPush(storage, file, segment)).rejects.toMatchObject({
      code: 'DR_ERR_WAL_EXISTS',
    });
    const back = join(dir, 'back');
    await walFetch(storage, segment, back);
    expect((await readFile(back)).equals(Buffer.alloc(1024, 1))).toBe(true);
  });

  it('takes only WAL file names, and fails to fetch what was never archived', async () => {
    const { dir, storage } = await setup();
    await expect(walPush(storage, join(dir, 'x'), '../../etc/passwd')).rejects.toMatchObject({
      code: 'DR_ERR_USAGE',
    });
    await expect(walFetch(storage, '00000002.history', join(dir, 'h'))).rejects.toThrow();
  });

  it('fetches the copy of a segment still being written when the finished one was never stored (the WAL stream’s last segment)', async () => {
    const { dir, storage } = await setup();
    const file = join(dir, 'seg');
    await writeFile(file, Buffer.alloc(1024, 7));
    await storage.put(`wal/${segment}.partial`, file);
    const back = join(dir, 'back');
    await walFetch(storage, segment, back);
    expect((await readFile(back)).equals(Buffer.alloc(1024, 7))).toBe(true);
    // A finished copy wins over the partial one.
    await writeFile(file, Buffer.alloc(1024, 8));
    await walPush(storage, file, segment);
    await walFetch(storage, segment, back);
    expect((await readFile(back)).equals(Buffer.alloc(1024, 8))).toBe(true);
    // Timeline histories have no partial copies.
    await storage.put('wal/00000002.history.partial', file);
    await expect(walFetch(storage, '00000002.history', join(dir, 'h'))).rejects.toThrow();
  });
});
