import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { infraEnv } from '@parley/testing';

/**
 * The load generator of `bench/load.mjs`, short, on the real platform
 * (gateway, chat and AI as processes on the local Kafka, Postgres and Redis):
 * 1,000 widget sessions connected at once each send one message (50 arrivals
 * a second), then one minute at 10 messages a second on the same sessions
 * while each service's memory is sampled every 5 s. Only correctness is
 * asserted (every session connected, every message answered, no error, the
 * memory sampled); latencies, throughput and memory growth are printed, not
 * checked: speed is bench's business, as ratios against a baseline.
 */
const BENCH = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'parley-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  scheduled: number;
  answered: number;
  errors: Record<string, number>;
  errorRate: number;
  openSessions: number;
}
interface Growth {
  samples: number;
  rssFirstMiB: number;
  rssLastMiB: number;
  heapLastMiB: number;
}
interface LoadResult {
  platform: Run & { open: number; failures: Record<string, number> };
  soak: { run: Run; growth: Record<string, Growth> };
}

describe('load generator on the distributed platform', () => {
  it('answers every message of 1,000 concurrent widget sessions, through a one-minute soak', async () => {
    infraEnv(); // fails with the command to run when the servers are down
    const out = join(dir, 'load.json');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        'load.mjs',
        ...['--sessions', '1000', '--rate', '50', '--duration', '20'],
        ...['--soak', '1', '--soak-rate', '10', '--sample', '5'],
        ...['--answer-timeout', '90', '--skip-baseline', '--json', out],
      ],
      { cwd: BENCH, timeout: 220_000, maxBuffer: 16 * 2 ** 20 },
    );
    console.log(stdout);
    const result = JSON.parse(readFileSync(out, 'utf8')) as LoadResult;

    const load = result.platform;
    expect(load.failures).toEqual({});
    expect(load.open).toBe(1_000);
    expect(load.scheduled).toBe(1_000);
    expect(load.errors).toEqual({});
    expect(load.answered).toBe(1_000);
    expect(load.errorRate).toBeLessThan(0.001);

    const soak = result.soak.run;
    expect(soak.scheduled).toBe(600);
    expect(soak.errors).toEqual({});
    expect(soak.answered).toBe(600);
    expect(soak.openSessions).toBe(1_000);

    expect(Object.keys(result.soak.growth).sort()).toEqual([
      'ai',
      'chat',
      'gateway',
      'load generator',
    ]);
    for (const [name, growth] of Object.entries(result.soak.growth)) {
      expect(growth.samples, name).toBeGreaterThanOrEqual(10);
      expect(growth.heapLastMiB, name).toBeGreaterThan(0);
      // Generous: a leak that doubles a process in one minute, not a measurement.
      expect(growth.rssLastMiB, name).toBeLessThan(2 * growth.rssFirstMiB);
    }
  });
});
