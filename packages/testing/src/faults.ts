import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { eventually } from './infra.js';
import { freePort } from './pg-cluster.js';
import type { TestCa } from './test-ca.js';

/**
 * The fault-injection tests' servers: Toxiproxy between the services and
 * their dependencies, and Redis and Kafka of the test's own (so that killing
 * them disturbs no other test), plus a TCP balancer in front of several
 * gateways, as a Kubernetes Service is.
 */

const run = promisify(execFile);

function required(name: string, command: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run \`eval "$(scripts/infra ${command})"\``);
  return value;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** One Toxiproxy proxy: `port` on loopback forwards to the upstream. */
export interface FaultProxy {
  readonly name: string;
  /** The port clients use instead of the upstream's. */
  readonly port: number;
  /** Adds `latency` ms (± `jitter`) to everything going through, both ways. */
  latency(latency: number, jitter?: number): Promise<void>;
  /** Limits the server's replies to `rateKb` KB/s. */
  bandwidth(rateKb: number): Promise<void>;
  /** Resets every connection (TCP RST) `afterMs` after it opens. */
  resetPeer(afterMs?: number): Promise<void>;
  /** Stops the data, then closes each connection after `timeoutMs` (0: never closes). */
  timeout(timeoutMs: number): Promise<void>;
  /** One-way cut: requests stop arriving, replies would still flow; nothing is closed. */
  cutOneWay(): Promise<void>;
  /** Refuses new connections and drops the open ones (the dependency is down). */
  down(): Promise<void>;
  /** Removes every toxic and enables the proxy. */
  heal(): Promise<void>;
}

/** A running toxiproxy-server of the test's own. */
export interface ToxiproxyServer {
  /** Creates a proxy on a free loopback port to `127.0.0.1:upstreamPort`. */
  proxy(name: string, upstreamPort: number, listenPort?: number): Promise<FaultProxy>;
  stop(): Promise<void>;
}

/**
 * Starts `toxiproxy-server` (built by `scripts/infra tools`, `PARLEY_TOXIPROXY`)
 * on a free loopback port and drives it through its HTTP API.
 */
export async function startToxiproxy(): Promise<ToxiproxyServer> {
  const bin = required('PARLEY_TOXIPROXY', 'tools');
  const apiPort = await freePort();
  const child = spawn(bin, ['-host', '127.0.0.1', '-port', String(apiPort)], {
    stdio: 'ignore',
  });
  const api = new Toxiproxy(`http://127.0.0.1:${apiPort}`);
  await eventually(
    () =>
      api.getVersion().then(
        () => true,
        () => undefined,
      ),
    {
      what: 'toxiproxy-server',
    },
  );
  return {
    async proxy(name, upstreamPort, listenPort) {
      const port = listenPort ?? (await freePort());
      const proxy = await api.createProxy({
        name,
        listen: `127.0.0.1:${port}`,
        upstream: `127.0.0.1:${upstreamPort}`,
      });
      return faultProxy(api, proxy, port);
    },
    stop: () => stopChild(child, 'SIGTERM'),
  };
}

function faultProxy(api: Toxiproxy, proxy: Proxy, port: number): FaultProxy {
  const added = new Set<string>();
  const toxic = async <T>(
    type: Parameters<Proxy['addToxic']>[0]['type'],
    attributes: T,
    streams: Array<'upstream' | 'downstream'> = ['downstream'],
  ) => {
    for (const stream of streams) {
      const name = `${type}_${stream}`;
      await proxy.addToxic({ name, type, stream, toxicity: 1, attributes });
      added.add(name);
    }
  };
  const enable = async (enabled: boolean) => {
    await (
      await api.get(proxy.name)
    ).update({
      enabled,
      listen: proxy.listen,
      upstream: proxy.upstream,
    });
  };
  return {
    name: proxy.name,
    port,
    latency: (latency, jitter = 0) =>
      toxic('latency', { latency, jitter }, ['upstream', 'downstream']),
    bandwidth: (rate) => toxic('bandwidth', { rate }),
    resetPeer: (timeout = 0) => toxic('reset_peer', { timeout }, ['upstream']),
    timeout: (timeout) => toxic('timeout', { timeout }, ['upstream']),
    cutOneWay: () => toxic('timeout', { timeout: 0 }, ['upstream']),
    down: () => enable(false),
    async heal() {
      for (const name of added) await (await proxy.getToxic(name)).remove();
      added.clear();
      await enable(true);
    },
  };
}

/** A redis-server of the test's own, restartable on the same port. */
export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: no save, every client cut off). */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits for PONG. */
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port with `dir` as its working
 * folder (a fresh temporary one by default, loading `dir/dump.rdb` if there
 * is one) and `args` added to its command line.
 */
export async function startRedisServer({
  dir,
  args = [],
  tls,
}: {
  dir?: string;
  args?: string[];
  /** Serve TLS only (`rediss://`), with this CA's server certificate. */
  tls?: TestCa;
} = {}): Promise<RedisServer> {
  const own = !dir;
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'parley-redis-')));
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        ...(tls
          ? [
              ...['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no'],
              ...['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile],
              ...['--tls-ca-cert-file', tls.caFile],
            ]
          : ['--port', String(port)]),
        '--bind',
        '127.0.0.1',
        '--dir',
        dataDir,
        '--dbfilename',
        'dump.rdb',
        '--save',
        '',
        '--appendonly',
        'no',
        ...args,
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => 100,
      ...(tls ? { tls: { ca: tls.ca } } : {}),
    });
    probe.on('error', () => undefined); // refused until the server listens
    try {
      await eventually(async () => ((await probe.ping()) === 'PONG' ? true : undefined), {
        what: 'a scratch redis-server',
      });
    } finally {
      probe.disconnect();
    }
  };
  await start();
  const kill = async () => {
    if (child) await stopChild(child, 'SIGKILL');
  };
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    kill,
    start,
    async destroy() {
      await kill();
      if (own) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A single-node Kafka (KRaft) of the test's own. */
export interface KafkaBroker {
  /** The address the broker advertises (what clients bootstrap from). */
  brokers: string;
  /** The port the broker listens on (behind a proxy, not what clients use). */
  port: number;
  /** The second listener's port (`wanAdvertisedPort`), for a latency proxy to forward to. */
  wanPort?: number;
  /** The TLS listener's address (`tls`). */
  tlsBrokers?: string;
  /** SIGKILLs the broker (no controlled shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data, and waits until it answers. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts a Kafka broker from the jars `scripts/infra` resolved
 * (`PARLEY_KAFKA_LIBS`) on free loopback ports, advertising
 * `127.0.0.1:advertisedPort` (a proxy's port) when given. Takes about 10 s.
 */
export async function startKafkaBroker({
  advertisedPort,
  wanAdvertisedPort,
  tls,
  scram,
}: {
  /** Adds a client listener with TLS (this CA's certificate), `tlsBrokers`: SASL_SSL with `scram`, else SSL. */
  tls?: TestCa;
  /** A SCRAM-SHA-512 user the TLS listener requires. */
  scram?: { username: string; password: string };
  advertisedPort?: number;
  /**
   * Adds a second listener advertising `127.0.0.1:wanAdvertisedPort`: clients
   * bootstrapping there (another region's, through a latency proxy on that
   * port) stay on it, while local ones use the first.
   */
  wanAdvertisedPort?: number;
} = {}): Promise<KafkaBroker> {
  const libs = required('PARLEY_KAFKA_LIBS', 'env');
  const dir = await mkdtemp(join(tmpdir(), 'parley-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const advertised = advertisedPort ?? port;
  const wanPort = wanAdvertisedPort ? await freePort() : undefined;
  const tlsPort = tls ? await freePort() : undefined;
  const secure = scram ? 'SASL_SSL' : 'SSL';
  const tlsListener = tlsPort ? `,${secure}://127.0.0.1:${tlsPort}` : '';
  const wan = (local: string) => (wanPort ? `,WAN://127.0.0.1:${local}` : '');
  const props = join(dir, 'server.properties');
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${wan(String(wanPort))}${tlsListener}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${advertised}${wan(String(wanAdvertisedPort))}${tlsListener}`,
      `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${wanPort ? ',WAN:PLAINTEXT' : ''}${tlsPort ? `,${secure}:${secure}` : ''}`,
      ...(tls
        ? [
            'ssl.keystore.type=PEM',
            `ssl.keystore.location=${tls.keystoreFile}`,
            `ssl.key.password=${tls.keyPassword}`,
            'ssl.client.auth=none',
          ]
        : []),
      ...(scram
        ? [
            'sasl.enabled.mechanisms=SCRAM-SHA-512',
            `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
          ]
        : []),
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
    ].join('\n'),
  );
  const java = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`];
  const clusterId = Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
    .toString('base64url')
    .replace(/^-/, 'A');
  await run(
    'java',
    [
      '-Xmx256m',
      ...java,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      ...(scram
        ? ['--add-scram', `SCRAM-SHA-512=[name=${scram.username},password=${scram.password}]`]
        : []),
    ],
    { timeout: 120_000 },
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('java', ['-Xms128m', '-Xmx512m', ...java, 'kafka.Kafka', props], {
      stdio: 'ignore',
    });
    await eventually(() => answers(port), { what: 'a scratch Kafka broker', timeoutMs: 90_000 });
  };
  await start();
  const kill = async () => {
    if (child) await stopChild(child, 'SIGKILL');
  };
  return {
    brokers: `127.0.0.1:${advertised}`,
    ...(tlsPort ? { tlsBrokers: `127.0.0.1:${tlsPort}` } : {}),
    port,
    ...(wanPort ? { wanPort } : {}),
    kill,
    start,
    async destroy() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** True once the broker answers an ApiVersions request (Kafka protocol, key 18 v0). */
async function answers(port: number): Promise<true | undefined> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    const clientId = Buffer.from('probe');
    const header = Buffer.alloc(10);
    header.writeInt16BE(18, 0); // api key: ApiVersions
    header.writeInt16BE(0, 2); // version 0
    header.writeInt32BE(1, 4); // correlation id
    header.writeInt16BE(clientId.length, 8);
    const body = Buffer.concat([header, clientId]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    socket.write(Buffer.concat([size, body]));
    const [reply] = (await Promise.race([
      once(socket, 'data'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no reply')), 2_000)),
    ])) as [Buffer];
    // ApiVersions v0 reply: size, correlation id, error code (0 = none).
    return reply.length >= 10 && reply.readInt16BE(8) === 0 ? true : undefined;
  } catch {
    return undefined;
  } finally {
    socket.destroy();
  }
}

/** A TCP balancer: what a Kubernetes Service is to the pods behind it. */
export interface TcpBalancer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port and hands each new connection to the next
 * of `upstreams()` (ports) that accepts it, round robin; open connections
 * are piped as they are and die with their upstream.
 */
export async function startTcpBalancer(upstreams: () => number[]): Promise<TcpBalancer> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const ports = upstreams();
    const attempt = (tries: number) => {
      if (tries >= ports.length) {
        client.destroy();
        return;
      }
      const upstream = connect(ports[next++ % ports.length]!, '127.0.0.1');
      let connected = false;
      upstream.on('error', () => {
        upstream.destroy();
        if (connected) client.destroy();
        else attempt(tries + 1); // refused: the next pod
      });
      upstream.once('connect', () => {
        connected = true;
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
