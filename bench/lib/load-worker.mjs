// Worker thread around one LoadShard: the main thread sends commands
// ({ cmd: 'connect' | 'drive' | 'close' }) and gets each one's result back.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadShard } from './load-shard.mjs';

const shard = new LoadShard(workerData.target);
parentPort.on('message', async ({ id, cmd, args }) => {
  try {
    let result;
    if (cmd === 'connect') result = await shard.connect(args.count, args.concurrency);
    else if (cmd === 'drive') result = await shard.drive(args);
    else if (cmd === 'close') result = shard.close();
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.stack ?? err) });
  }
});
