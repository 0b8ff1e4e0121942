import { parseArgs } from 'node:util';
import { storageFromEnv } from '../storage.js';
import { WAL_SLOT, WalStream, dropWalSlot } from '../wal-stream.js';
import { need, positive, usage } from './shared.js';

export const WAL_STREAM_USAGE = `parley-dr wal-stream --spool <dir> [--slot ${WAL_SLOT}] [--partial-every 60]
parley-dr wal-stream --drop-slot [--slot ${WAL_SLOT}]

Streams the primary's WAL into the backup storage's wal/ (pg_receivewal
through a replication slot), storing the segment being written every
--partial-every seconds (the RPO). Runs until SIGTERM or SIGINT, then stores
what it has. --drop-slot removes the slot when streaming is turned off (the
server keeps WAL for it until then).
Environment: PARLEY_PG_REPLICATION_URL, PARLEY_PG_BIN, and the storage
(PARLEY_BACKUP_URL or PARLEY_BACKUP_DIR).`;

/** `parley-dr wal-stream`: continuous WAL archiving for a server whose archive_command is not ours. */
export async function walStream(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      spool: { type: 'string' },
      slot: { type: 'string', default: WAL_SLOT },
      'partial-every': { type: 'string' },
      'drop-slot': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const tools = { bin: process.env.PARLEY_PG_BIN ?? '/usr/lib/postgresql/15/bin' };
  const replicationUrl = need('PARLEY_PG_REPLICATION_URL');
  if (values['drop-slot']) {
    await dropWalSlot(replicationUrl, tools, values.slot);
    process.stdout.write(`dropped the replication slot ${values.slot}\n`);
    return 0;
  }
  if (!values.spool) throw usage('wal-stream needs --spool <dir> (where pg_receivewal writes)');
  const stream = new WalStream(storageFromEnv(), {
    replicationUrl,
    tools,
    spool: values.spool,
    slot: values.slot,
    partialEveryMs: positive(values['partial-every'], '--partial-every', 60) * 1_000,
    log: (event) =>
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
  });
  await stream.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await stream.stop();
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), event: 'stopped', stored: stream.storedCount })}\n`,
  );
  return 0;
}
