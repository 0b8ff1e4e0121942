import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRegistry, messageReceivedV1, type Event } from '@parley/contracts';
import { PermanentError, UnavailableError, type EventBus, type Subscription } from '@parley/ports';
import { expectEventually as eventually } from '@parley/testing';

/** Makes a bus on the shared backend: two calls behave like two processes. */
export type BusFactory = () => Promise<{ bus: EventBus; close(): Promise<void> }>;

const registry = new EventRegistry([messageReceivedV1]);

function message(conversationId: string, n: number): Event {
  return registry.create(messageReceivedV1, {
    conversationId,
    tenantId: 'contract',
    payload: {
      message_id: randomUUID(),
      client_message_id: `c-${n}`,
      visitor_id: 'v-1',
      channel: 'web',
      text: `message ${n}`,
    },
  });
}

/**
 * The behaviour every {@link EventBus} adapter must have. Runs with real
 * timers against whatever backend `factory` reaches; events are scoped to
 * fresh conversation ids and group ids so a shared topic does not interfere.
 */
export function busContract(name: string, factory: BusFactory): void {
  describe(`EventBus contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    async function open(): Promise<EventBus> {
      const handle = await factory();
      cleanups.push(() => handle.close());
      return handle.bus;
    }
    async function member(
      bus: EventBus,
      groupId: string,
      handler: (event: Event, attempt: number, signal: AbortSignal) => Promise<void>,
    ): Promise<Subscription> {
      const sub = bus.subscribe({
        groupId,
        registry,
        fromBeginning: true,
        handler: (event, ctx) => handler(event, ctx.attempt, ctx.signal),
      });
      cleanups.push(() => sub.stop());
      await sub.start();
      return sub;
    }
    const ours = (ids: string[]) => (e: Event) => ids.includes(e.conversation_id);

    it('delivers every event to every group, in order per conversation', async () => {
      const bus = await open();
      const conversations = [randomUUID(), randomUUID(), randomUUID()];
      const seen = { a: [] as Event[], b: [] as Event[] };
      await member(bus, `g-${randomUUID()}`, async (e) => void seen.a.push(e));
      await member(bus, `g-${randomUUID()}`, async (e) => void seen.b.push(e));
      for (let n = 0; n < 10; n++) {
        await Promise.all(conversations.map((c) => bus.publish(message(c, n))));
      }
      await eventually(() => {
        expect(seen.a.filter(ours(conversations))).toHaveLength(30);
        expect(seen.b.filter(ours(conversations))).toHaveLength(30);
      });
      for (const c of conversations) {
        const order = seen.a
          .filter((e) => e.conversation_id === c)
          .map((e) => (e.payload as { text: string }).text);
        expect(order).toEqual(Array.from({ length: 10 }, (_, n) => `message ${n}`));
      }
    });

    it('shares a group between members so each event is handled once', async () => {
      const [one, two] = [await open(), await open()];
      const groupId = `g-${randomUUID()}`;
      const handled: string[] = [];
      await member(one, groupId, async (e) => void handled.push(e.event_id));
      await member(two, groupId, async (e) => void handled.push(e.event_id));
      const conversations = Array.from({ length: 8 }, () => randomUUID());
      const events = conversations.map((c, n) => message(c, n));
      for (const e of events) await one.publish(e);
      await eventually(() => {
        const ids = new Set(events.map((e) => e.event_id));
        expect(handled.filter((id) => ids.has(id)).sort()).toEqual([...ids].sort());
      });
    });

    it('retries a failed handler and commits only after it succeeds', async () => {
      const bus = await open();
      const groupId = `g-${randomUUID()}`;
      const conversation = randomUUID();
      const attempts: number[] = [];
      const first = await member(bus, groupId, async (e, attempt) => {
        if (e.conversation_id !== conversation) return;
        attempts.push(attempt);
        if (attempt === 1) throw new Error('transient');
      });
      await bus.publish(message(conversation, 0));
      await eventually(() => expect(attempts).toEqual([1, 2]));
      await first.stop();

      const again: Event[] = [];
      await member(bus, groupId, async (e) => void again.push(e));
      await bus.publish(message(conversation, 1));
      await eventually(() => expect(again.filter(ours([conversation]))).toHaveLength(1));
      expect((again.find(ours([conversation]))?.payload as { text: string }).text).toBe(
        'message 1',
      );
    });

    it('gives up on a permanent failure at once and moves on', async () => {
      const bus = await open();
      const conversation = randomUUID();
      const attempts: string[] = [];
      await member(bus, `g-${randomUUID()}`, async (e, attempt) => {
        if (e.conversation_id !== conversation) return;
        const text = (e.payload as { text: string }).text;
        attempts.push(`${text}#${attempt}`);
        if (text === 'message 0') throw new PermanentError('unknown tenant');
      });
      await bus.publish(message(conversation, 0));
      await bus.publish(message(conversation, 1));
      await eventually(() => expect(attempts).toEqual(['message 0#1', 'message 1#1']));
    });

    it('retries an event whose dependency is unavailable until it works, without dead-lettering it', async () => {
      const bus = await open();
      const conversation = randomUUID();
      const handled: string[] = [];
      let failures = 0;
      await member(bus, `g-${randomUUID()}`, async (e) => {
        if (e.conversation_id !== conversation) return;
        const text = (e.payload as { text: string }).text;
        // Five failures: more than the attempts a handler error gets.
        if (text === 'message 0' && failures < 5) {
          failures++;
          throw new UnavailableError('Postgres is failing over', { code: 'TEST_UNAVAILABLE' });
        }
        handled.push(text);
      });
      await bus.publish(message(conversation, 0));
      await bus.publish(message(conversation, 1));
      await eventually(() => expect(handled).toEqual(['message 0', 'message 1']));
      expect(failures).toBe(5);
    });

    it('redelivers an event whose member stopped before finishing it', async () => {
      const [one, two] = [await open(), await open()];
      const groupId = `g-${randomUUID()}`;
      const conversation = randomUUID();
      let started!: () => void;
      const inHand = new Promise<void>((resolve) => (started = resolve));
      const first = await member(one, groupId, (e, _attempt, signal) => {
        if (e.conversation_id !== conversation) return Promise.resolve();
        started();
        return new Promise<void>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('stopping'))),
        );
      });
      await one.publish(message(conversation, 0));
      await inHand;
      await first.stop();

      const handled: Event[] = [];
      await member(two, groupId, async (e) => void handled.push(e));
      await eventually(() => expect(handled.filter(ours([conversation]))).toHaveLength(1), {
        timeoutMs: 40_000,
      });
    });

    it('commits what a member handled when it stops: the next member of its group starts after it', async () => {
      const [one, two] = [await open(), await open()];
      const groupId = `g-${randomUUID()}`;
      const conversation = randomUUID();
      const first: Event[] = [];
      const sub = await member(one, groupId, async (e) => void first.push(e));
      for (let n = 0; n < 3; n++) await one.publish(message(conversation, n));
      await eventually(() => expect(first.filter(ours([conversation]))).toHaveLength(3));
      await sub.stop();
      const second: Event[] = [];
      await member(two, groupId, async (e) => void second.push(e));
      await one.publish(message(conversation, 3));
      await eventually(
        () =>
          expect(
            second.filter(ours([conversation])).map((e) => (e.payload as { text: string }).text),
          ).toEqual(['message 3']),
        { timeoutMs: 40_000 },
      );
    });

    it('skips event types its registry does not know', async () => {
      const bus = await open();
      const conversation = randomUUID();
      const other = { ...message(conversation, 0), type: 'something.new', event_id: randomUUID() };
      const handled: Event[] = [];
      await member(bus, `g-${randomUUID()}`, async (e) => void handled.push(e));
      await bus.publish(other);
      await bus.publish(message(conversation, 1));
      await eventually(() => expect(handled.filter(ours([conversation]))).toHaveLength(1));
      expect(handled.filter(ours([conversation]))[0]?.type).toBe('message.received');
    });
  });
}
