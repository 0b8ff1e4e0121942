import type { Cache, EventBus, SqlDatabase } from '@parley/ports';

/**
 * What a service module runs on. An infrastructure plugin provides them: the
 * Kafka, Redis and Postgres plugins in the services, `embeddedPorts` in the
 * one-process mode. Modules read `app.ports` and never know which.
 */
export interface Ports {
  /** `conversation-events`. */
  readonly bus: EventBus;
  /** Another topic of the same bus (`knowledge-jobs`). */
  busFor(topic: string): EventBus;
  readonly cache: Cache;
  readonly db: SqlDatabase;
}

type Provided = {
  bus?: EventBus;
  busFor?: (topic: string) => EventBus;
  cache?: Cache;
  db?: SqlDatabase;
};

/**
 * `app.ports`: filled by infrastructure plugins as they register, read by
 * modules. Reading a port nobody provided throws, naming the plugin to
 * register first.
 */
export class PortRegistry implements Ports {
  private readonly provided: Provided = {};

  /** Called by an infrastructure plugin for the ports it brings; a port is provided once. */
  provide(ports: Provided): void {
    for (const [name, port] of Object.entries(ports) as Array<[keyof Provided, unknown]>) {
      if (port === undefined) continue;
      if (this.provided[name] !== undefined) throw new Error(`port ${name} is already provided`);
      Object.assign(this.provided, { [name]: port });
    }
  }

  /** Whether an infrastructure plugin provided `name`. */
  has(name: keyof Provided): boolean {
    return this.provided[name] !== undefined;
  }

  get bus(): EventBus {
    return this.need('bus', 'kafkaPlugin');
  }

  busFor(topic: string): EventBus {
    return this.need('busFor', 'kafkaPlugin')(topic);
  }

  get cache(): Cache {
    return this.need('cache', 'redisPlugin');
  }

  get db(): SqlDatabase {
    return this.need('db', 'postgresPlugin');
  }

  private need<K extends keyof Provided>(name: K, plugin: string): NonNullable<Provided[K]> {
    const port = this.provided[name];
    if (port === undefined)
      throw new Error(`no ${name} port: register ${plugin} (or embeddedPorts) before the module`);
    return port as NonNullable<Provided[K]>;
  }
}
