import { mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupId, listBackups, pruneBackups, type BackupManifest } from './backup.js';
import { listRedisSnapshots, pruneRedisSnapshots } from './redis-snapshot.js';
import { DirectoryStorage } from './storage.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const DAY = 86_400_000;

async function storageWith(now: Date, backupAgesDays: number[], walAgesDays: number[]) {
  const root = await mkdtemp(join(tmpdir(), 'parley-prune-'));
  dirs.push(root);
  const storage = new DirectoryStorage(root);
  for (const age of backupAgesDays) {
    const started = new Date(now.getTime() - age * DAY);
    const id = backupId('full', started);
    const manifest: BackupManifest = {
      id,
      kind: 'full',
      startedAt: started.toISOString(),
      finishedAt: started.toISOString(),
      size: 1,
      files: [],
      keepUntil: new Date(started.getTime() + 30 * DAY).toISOString(),
    };
    await storage.putText(`base/${id}/manifest.json`, JSON.stringify(manifest));
  }
  await mkdir(join(root, 'wal'), { recursive: true });
  for (const [i, age] of walAgesDays.entries()) {
    const file = join(root, 'wal', `0000000100000000000000${String(i).padStart(2, '0')}`);
    await writeFile(file, 'wal');
    const at = new Date(now.getTime() - age * DAY);
    await utimes(file, at, at);
  }
  return storage;
}

describe('backup retention', () => {
  it('drops full backups older than 30 days but always keeps the newest', async () => {
    const now = new Date('2026-11-26T08:00:00Z');
    const storage = await storageWith(now, [45, 31, 20, 1], []);
    const pruned = await pruneBackups(storage, now);
    expect(pruned.backups).toHaveLength(2);
    expect((await listBackups(storage)).map((b) => b.startedAt)).toEqual([
      new Date(now.getTime() - 20 * DAY).toISOString(),
      new Date(now.getTime() - 1 * DAY).toISOString(),
    ]);
    const alone = await storageWith(now, [90], []);
    expect((await pruneBackups(alone, now)).backups).toEqual([]);
  });

  it('keeps WAL the oldest kept backup needs, and WAL newer than 7 days', async () => {
    const now = new Date('2026-11-26T08:00:00Z');
    // The oldest kept backup is 3 days old: WAL from 10 and 8 days ago goes, from 5 and 1 day stays
    // (the 5-day-old segment is older than the backup, but within the WAL retention).
    const storage = await storageWith(now, [3], [10, 8, 5, 1]);
    const pruned = await pruneBackups(storage, now);
    expect(pruned.walSegments).toBe(2);
    expect(await storage.list('wal/')).toHaveLength(2);
    // An older backup still kept needs its WAL even past 7 days.
    const older = await storageWith(now, [20, 3], [10, 8, 1]);
    expect((await pruneBackups(older, now)).walSegments).toBe(0);
  });

  it('keeps Redis snapshots 3 days, and always the newest', async () => {
    const now = new Date('2026-11-26T08:00:00Z');
    const storage = await storageWith(now, [], []);
    for (const ageHours of [100, 73, 71, 1]) {
      const takenAt = new Date(now.getTime() - ageHours * 3_600_000);
      const id = backupId('redis', takenAt);
      await storage.putText(
        `redis/${id}/manifest.json`,
        JSON.stringify({
          id,
          takenAt: takenAt.toISOString(),
          keepUntil: new Date(takenAt.getTime() + 3 * DAY).toISOString(),
        }),
      );
    }
    expect(await pruneRedisSnapshots(storage, now)).toHaveLength(2);
    expect((await listRedisSnapshots(storage)).map((m) => m.id)).toEqual([
      backupId('redis', new Date(now.getTime() - 71 * 3_600_000)),
      backupId('redis', new Date(now.getTime() - 3_600_000)),
    ]);
    // Alone and expired, the newest stays.
    const later = new Date(now.getTime() + 30 * DAY);
    expect(await pruneRedisSnapshots(storage, later)).toHaveLength(1);
    expect(await listRedisSnapshots(storage)).toHaveLength(1);
  });
});
