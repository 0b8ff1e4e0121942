import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually } from '@parley/testing';
import type { SqlDatabase } from '@parley/ports';
import { migrate } from '@parley/schema';
import { ConversationStore, TenantStore, isStoreError, type NewMessage } from '../src/index.js';

/** The store's behaviour, run against PGlite and against pg with a replica. */
export function storeContract(name: string, open: () => Promise<SqlDatabase>): void {
  describe(`ConversationStore on ${name}`, () => {
    let db: SqlDatabase;
    let store: ConversationStore;
    const tenantA = `ta-${randomUUID()}`;
    const tenantB = `tb-${randomUUID()}`;

    beforeAll(async () => {
      db = await open();
      await migrate(db);
      store = new ConversationStore(db);
      for (const id of [tenantA, tenantB])
        await store.upsertTenant({
          id,
          name: id,
          widgetKey: `pk_${id}`,
          allowedOrigins: ['http://localhost:8080'],
        });
    });
    afterAll(() => db.close());

    const user = (tenantId: string, conversationId: string, n: number): NewMessage => ({
      tenantId,
      conversationId,
      visitorId: 'visitor-1',
      channel: 'web',
      role: 'user',
      messageId: randomUUID(),
      clientMessageId: `client-${n}`,
      eventId: randomUUID(),
      text: `hello ${n}`,
      receivedAt: new Date(),
    });

    it("keeps a tenant's own AI settings, validated, and only for that tenant", async () => {
      const id = `tai-${randomUUID()}`;
      const base = { id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [] };
      await store.upsertTenant({
        ...base,
        emergencyContact: '+1 555 0199',
        aiSettings: { daily_token_budget: 5_000, provider_weights: { openai: 0, anthropic: 100 } },
      });
      expect(await store.replySettings(id)).toEqual({
        emergencyContact: '+1 555 0199',
        ai: { daily_token_budget: 5_000, provider_weights: { openai: 0, anthropic: 100 } },
      });
      // An update that does not mention the settings keeps them.
      await store.upsertTenant({ ...base, name: 'renamed' });
      expect((await store.replySettings(id)).ai).toMatchObject({ daily_token_budget: 5_000 });
      expect(await store.replySettings(tenantA)).toEqual({ emergencyContact: null, ai: {} });
      expect(await store.replySettings('nobody')).toEqual({ emergencyContact: null, ai: {} });
      const bad = await store
        .upsertTenant({ ...base, aiSettings: { daily_token_budget: -1, mystery: true } as never })
        .catch((e: unknown) => e);
      expect(isStoreError(bad, 'STORE_ERR_INVALID_SETTINGS')).toBe(true);
      expect((bad as Error).message).toMatch(/daily_token_budget/);
    });

    it('hands a conversation to an agent and back, and refuses a bot message while an agent holds it', async () => {
      const conversationId = randomUUID();
      await store.appendMessage(user(tenantA, conversationId, 1));
      const waiting = await store.setState(tenantA, conversationId, { handoff: 'waiting' });
      expect(waiting!.conversation).toMatchObject({ handler: 'bot', handoff: 'waiting' });
      expect(await store.setState(tenantB, conversationId, { handoff: 'waiting' })).toBeNull();
      const joined = await store.appendMessage({
        ...user(tenantA, conversationId, 2),
        role: 'agent',
        clientMessageId: 'agent:1',
        state: { handler: 'agent', handoff: 'none' },
      });
      expect(joined.conversation).toMatchObject({ handler: 'agent', handoff: 'none', lastSeq: 2 });
      const muted = await store
        .appendMessage({
          ...user(tenantA, conversationId, 3),
          role: 'assistant',
          clientMessageId: 'reply:1',
          requireHandler: 'bot',
        })
        .catch((e: unknown) => e);
      expect(isStoreError(muted, 'STORE_ERR_NOT_HANDLER')).toBe(true);
      const back = await store.setState(tenantA, conversationId, { handler: 'bot' });
      expect(back!.conversation).toMatchObject({ handler: 'bot', lastSeq: 2 });
      const answered = await store.appendMessage({
        ...user(tenantA, conversationId, 4),
        role: 'assistant',
        clientMessageId: 'reply:1',
        requireHandler: 'bot',
      });
      expect(answered.message.seq).toBe(3);
    });

    it('refuses a tenant id with a key separator or other characters, in the store and in the database', async () => {
      for (const id of ['acme:eu', '', '-acme', 'acme eu', 'a\u0000b', 'x'.repeat(129), 'café']) {
        const err = await store
          .upsertTenant({ id, name: 'n', widgetKey: `pk_${randomUUID()}`, allowedOrigins: [] })
          .catch((e: unknown) => e);
        expect(isStoreError(err, 'STORE_ERR_INVALID_TENANT_ID'), JSON.stringify(id)).toBe(true);
      }
      // An operator's own SQL meets the same rule.
      const direct = await db
        .transaction((tx) =>
          tx.query(
            `insert into tenants (id, name, widget_key, allowed_origins) values ($1, 'n', $2, '{}')`,
            [`acme:${randomUUID()}`, `pk_${randomUUID()}`],
          ),
        )
        .catch((e: unknown) => e);
      expect(String((direct as Error).message)).toContain('tenants_id_format');
      const fine = `acme-eu.1_${randomUUID()}`;
      await store.upsertTenant({
        id: fine,
        name: fine,
        widgetKey: `pk_${fine}`,
        allowedOrigins: [],
      });
      expect((await store.tenantByWidgetKey(`pk_${fine}`, 'primary'))?.id).toBe(fine);
    });

    it('finds a tenant by its widget key', async () => {
      expect(await store.tenantByWidgetKey(`pk_${tenantA}`)).toMatchObject({
        id: tenantA,
        allowedOrigins: ['http://localhost:8080'],
      });
      expect(await store.tenantByWidgetKey('pk_nobody')).toBeNull();
    });

    it("keeps a tenant's identity secret until it is replaced or removed, and refuses a short one", async () => {
      const id = `tid-${randomUUID()}`;
      const base = { id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [] };
      const secret = 'identity-secret-0123456789abcdefghij';
      // The widget-key lookup reads a replica: it sees each write once replayed.
      const secretNow = (want: string | null) =>
        expectEventually(async () =>
          expect((await store.tenantByWidgetKey(`pk_${id}`))?.identitySecret).toBe(want),
        );
      await store.upsertTenant({ ...base, identitySecret: secret });
      await store.upsertTenant(base);
      await secretNow(secret);
      await store.upsertTenant({ ...base, identitySecret: null });
      await secretNow(null);
      const err = await store.upsertTenant({ ...base, identitySecret: 'short' }).catch((e) => e);
      expect(isStoreError(err, 'STORE_ERR_INVALID_SETTINGS')).toBe(true);
    });

    it("keeps the visitor's newest language and the first verified customer id", async () => {
      const c = randomUUID();
      const first = await store.appendMessage({ ...user(tenantA, c, 1), language: 'de' });
      expect(first.conversation).toMatchObject({ language: 'de', customerId: null });
      await store.appendMessage({ ...user(tenantA, c, 2), customerId: 'cust-1' });
      const third = await store.appendMessage({
        ...user(tenantA, c, 3),
        language: 'fr',
        customerId: 'cust-2',
      });
      expect(third.conversation).toMatchObject({ language: 'fr', customerId: 'cust-1' });
      expect(await store.conversation(tenantA, c, 'primary')).toMatchObject({
        language: 'fr',
        customerId: 'cust-1',
      });
      expect(await store.conversation(tenantB, c, 'primary')).toBeNull();
    });

    it('numbers concurrent messages without gaps, per conversation', async () => {
      const [c1, c2] = [randomUUID(), randomUUID()];
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          store.appendMessage(user(tenantA, n % 2 ? c1 : c2, n)),
        ),
      );
      for (const c of [c1, c2]) {
        const seqs = appended
          .filter((a) => a.conversation.id === c)
          .map((a) => a.message.seq)
          .sort((x, y) => x - y);
        expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
        const last = appended.find((a) => a.conversation.id === c && a.message.seq === 10)!;
        expect(
          (await store.messagesAfter(tenantA, c, 0, 100, { after: last.position })).map(
            (m) => m.seq,
          ),
        ).toEqual(seqs);
      }
    });

    it('stores a resent message once and returns the first copy', async () => {
      const c = randomUUID();
      const first = await store.appendMessage(user(tenantA, c, 1));
      const resend = await store.appendMessage({ ...user(tenantA, c, 1), text: 'changed' });
      const next = await store.appendMessage(user(tenantA, c, 2));
      expect(first.created).toBe(true);
      expect(resend).toMatchObject({ created: false, message: { seq: 1, text: 'hello 1' } });
      expect(next.message.seq).toBe(2);
    });

    it('deduplicates a redelivered event by its event id', async () => {
      const c = randomUUID();
      const message = user(tenantA, c, 1);
      await store.appendMessage(message);
      const again = await store.appendMessage({ ...message, clientMessageId: 'other' });
      expect(again.created).toBe(false);
      expect(await store.messagesAfter(tenantA, c, 0, 10, 'primary')).toHaveLength(1);
    });

    it('keeps tenants apart even when they use the same conversation id', async () => {
      const c = randomUUID();
      await store.appendMessage(user(tenantA, c, 1));
      await store.appendMessage(user(tenantA, c, 2));
      const b = await store.appendMessage({ ...user(tenantB, c, 1), text: 'tenant b' });
      expect(b.message.seq).toBe(1);
      const seenByB = await store.messagesAfter(tenantB, c, 0, 10, 'primary');
      expect(seenByB.map((m) => m.text)).toEqual(['tenant b']);
      expect((await store.conversation(tenantB, c, 'primary'))?.lastSeq).toBe(1);
      expect(await store.conversation(`other-${randomUUID()}`, c, 'primary')).toBeNull();
    });

    it('refuses a user message from a visitor who does not own the conversation', async () => {
      const c = randomUUID();
      await store.appendMessage(user(tenantA, c, 1));
      const err = await store
        .appendMessage({ ...user(tenantA, c, 2), visitorId: 'intruder' })
        .catch((e: unknown) => e);
      expect(isStoreError(err, 'STORE_ERR_CONVERSATION_OWNER')).toBe(true);
    });

    it('refuses a message for a tenant that does not exist', async () => {
      const err = await store
        .appendMessage(user(`ghost-${randomUUID()}`, randomUUID(), 1))
        .catch((e: unknown) => e);
      expect(isStoreError(err, 'STORE_ERR_UNKNOWN_TENANT')).toBe(true);
    });

    it('finds user messages the bot has not answered yet', async () => {
      const c = randomUUID();
      const since = new Date(Date.now() - 60_000);
      const first = await store.appendMessage(user(tenantA, c, 1));
      await store.appendMessage({
        ...user(tenantA, c, 0),
        role: 'assistant',
        clientMessageId: 'reply:1',
        replyToSeq: 1,
      });
      await store.appendMessage(user(tenantA, c, 2));
      const open = (await store.unansweredUserMessages(since, 1_000)).filter(
        (u) => u.conversation.id === c,
      );
      expect(open.map((u) => [u.conversation.tenantId, u.message.seq])).toEqual([[tenantA, 3]]);
      expect(first.message.seq).toBe(1);
    });

    it('leaves out unanswered messages stored after `until`', async () => {
      const c = randomUUID();
      const since = new Date(Date.now() - 60_000);
      await store.appendMessage(user(tenantA, c, 1));
      const until = new Date(Date.now() + 60_000);
      const ids = async (upto?: Date) =>
        (await store.unansweredUserMessages(since, 1_000, upto))
          .filter((u) => u.conversation.id === c)
          .map((u) => u.message.seq);
      expect(await ids(until)).toEqual([1]);
      expect(await ids(since)).toEqual([]);
    });

    it('makes the region storing a user message the conversation’s home, and lets a resuming region claim it', async () => {
      const c = randomUUID();
      const home = async () => (await store.conversation(tenantA, c, 'primary'))?.homeRegion;
      const first = await store.appendMessage({ ...user(tenantA, c, 1), region: 'us-east' });
      expect(first.conversation.homeRegion).toBe('us-east');
      // Replies and agents' messages come from anywhere: they do not move it.
      await store.appendMessage({
        ...user(tenantA, c, 0),
        role: 'assistant',
        clientMessageId: 'reply:1',
        replyToSeq: 1,
        region: 'eu-west',
      });
      expect(await home()).toBe('us-east');
      expect(await store.claimHome(tenantA, c, 'eu-west')).toBe(true);
      expect(await store.claimHome(tenantA, c, 'eu-west')).toBe(false);
      expect(await home()).toBe('eu-west');
      // Another tenant cannot claim it.
      expect(await store.claimHome(tenantB, c, 'us-east')).toBe(false);
      expect(await home()).toBe('eu-west');
      // A message without a region (one region, the embedded mode) keeps it.
      await store.appendMessage(user(tenantA, c, 2));
      expect(await home()).toBe('eu-west');
      const unknown = await store.appendMessage(user(tenantA, randomUUID(), 1));
      expect(unknown.conversation.homeRegion).toBeNull();
    });

    describe('tenant administration', () => {
      const tenants = () => new TenantStore(db);
      const origin = 'https://shop.example';

      it('creates a tenant with a first widget key, refuses it twice, and updates only what is given', async () => {
        const id = `new-${randomUUID().slice(0, 8)}`;
        const created = await tenants().put(
          id,
          { allowedOrigins: [origin], aiSettings: { tools: false } },
          { createOnly: true },
        );
        expect(created.created).toBe(true);
        expect(created.widgetKey).toMatch(/^pk_[A-Za-z0-9_-]{24}$/);
        expect(created.tenant).toMatchObject({
          id,
          name: id,
          allowedOrigins: [origin],
          aiSettings: { tools: false },
          hitlSettings: {},
          identitySecret: false,
          widgetKeys: [{ key: created.widgetKey }],
        });
        expect((await store.tenantByWidgetKey(created.widgetKey!, 'primary'))?.id).toBe(id);
        const again = await tenants()
          .put(id, { allowedOrigins: [origin] }, { createOnly: true })
          .catch((e: unknown) => e);
        expect(isStoreError(again, 'STORE_ERR_TENANT_EXISTS')).toBe(true);
        const updated = await tenants().put(id, {
          name: 'Shop',
          hitlSettings: { assignment: 'least_busy' },
        });
        expect(updated.created).toBe(false);
        expect(updated.tenant).toMatchObject({
          name: 'Shop',
          allowedOrigins: [origin],
          aiSettings: { tools: false },
          hitlSettings: { assignment: 'least_busy' },
        });
        for (const bad of [
          { allowedOrigins: [] as string[] },
          { allowedOrigins: [origin], aiSettings: { daily_token_budget: -1 } },
          { allowedOrigins: [origin], hitlSettings: { assignment: 'random' } },
        ]) {
          const err = await tenants()
            .put(`bad-${randomUUID().slice(0, 8)}`, bad as never)
            .catch((e: unknown) => e);
          expect(isStoreError(err, 'STORE_ERR_INVALID_SETTINGS'), JSON.stringify(bad)).toBe(true);
        }
        const badId = await tenants()
          .put('a:b', { allowedOrigins: [origin] })
          .catch((e: unknown) => e);
        expect(isStoreError(badId, 'STORE_ERR_INVALID_TENANT_ID')).toBe(true);
      });

      it('keeps several widget keys live while rotating, and never revokes the last', async () => {
        const id = `rot-${randomUUID().slice(0, 8)}`;
        const { widgetKey: first } = await tenants().put(id, { allowedOrigins: [origin] });
        const second = (await tenants().issueKey(id))!;
        expect((await store.tenantByWidgetKey(first!, 'primary'))?.id).toBe(id);
        expect((await store.tenantByWidgetKey(second.key, 'primary'))?.id).toBe(id);
        expect((await tenants().get(id))!.widgetKeys.map((k) => k.key)).toEqual([
          second.key,
          first,
        ]);
        expect(await tenants().revokeKey(id, first!)).toBe('revoked');
        expect(await store.tenantByWidgetKey(first!, 'primary')).toBeNull();
        expect(await tenants().revokeKey(id, first!)).toBe('unknown');
        expect(await tenants().revokeKey(id, second.key)).toBe('last');
        expect(await tenants().revokeKey(tenantB, second.key)).toBe('unknown');
        expect(await tenants().issueKey(`ghost-${randomUUID()}`)).toBeNull();
      });

      it('rotates the identity secret, shown once, and removes it', async () => {
        const id = `sec-${randomUUID().slice(0, 8)}`;
        const { widgetKey } = await tenants().put(id, { allowedOrigins: [origin] });
        const secret = (await tenants().rotateIdentitySecret(id))!;
        expect(secret.length).toBeGreaterThanOrEqual(32);
        expect((await store.tenantByWidgetKey(widgetKey!, 'primary'))?.identitySecret).toBe(secret);
        expect((await tenants().get(id))!.identitySecret).toBe(true);
        expect(JSON.stringify(await tenants().get(id))).not.toContain(secret);
        expect(await tenants().removeIdentitySecret(id)).toBe(true);
        expect((await store.tenantByWidgetKey(widgetKey!, 'primary'))?.identitySecret).toBeNull();
      });

      it('offboards a deleted tenant: its keys stop working and its id is not reused', async () => {
        const id = `del-${randomUUID().slice(0, 8)}`;
        const only = `https://${id}.example`;
        const { widgetKey } = await tenants().put(id, { allowedOrigins: [only] });
        expect(await store.isAllowedOrigin(only, 'primary')).toBe(true);
        expect(await tenants().delete(id)).toBe(true);
        expect(await tenants().delete(id)).toBe(false);
        expect(await tenants().get(id)).toBeNull();
        expect(await store.tenantByWidgetKey(widgetKey!, 'primary')).toBeNull();
        expect(await store.isAllowedOrigin(only, 'primary')).toBe(false);
        const reused = await tenants()
          .put(id, { allowedOrigins: [only] })
          .catch((e: unknown) => e);
        expect(isStoreError(reused, 'STORE_ERR_TENANT_DELETED')).toBe(true);
      });

      it('upsertTenant makes the given key the only live one', async () => {
        const id = `ups-${randomUUID().slice(0, 8)}`;
        const base = { id, name: id, allowedOrigins: [origin] };
        await store.upsertTenant({ ...base, widgetKey: `pk_${id}_1` });
        await store.upsertTenant({ ...base, widgetKey: `pk_${id}_2` });
        expect(await store.tenantByWidgetKey(`pk_${id}_1`, 'primary')).toBeNull();
        expect((await store.tenantByWidgetKey(`pk_${id}_2`, 'primary'))?.id).toBe(id);
        const taken = await store
          .upsertTenant({ ...base, id: `other-${id}`, widgetKey: `pk_${id}_1` })
          .catch((e: unknown) => e);
        expect(isStoreError(taken, 'STORE_ERR_INVALID_SETTINGS')).toBe(true);
      });
    });

    it('returns the recent history oldest first, bounded', async () => {
      const c = randomUUID();
      for (let n = 1; n <= 5; n++) await store.appendMessage(user(tenantA, c, n));
      const recent = await store.recentMessages(tenantA, c, 4, 2, 'primary');
      expect(recent.map((m) => m.seq)).toEqual([3, 4]);
      const state = await store.conversation(tenantA, c, 'primary');
      expect(state).toMatchObject({ status: 'open', handler: 'bot', handoff: 'none', lastSeq: 5 });
    });

    it('returns the turns before a message stored now with it, oldest first, and none for a copy', async () => {
      const c = randomUUID();
      const first = await store.appendMessage({ ...user(tenantA, c, 1), history: 3 });
      expect(first.history).toEqual([]);
      for (let n = 2; n <= 5; n++) await store.appendMessage(user(tenantA, c, n));
      const sixth = await store.appendMessage({ ...user(tenantA, c, 6), history: 3 });
      expect(sixth.created).toBe(true);
      expect(sixth.history!.map((m) => m.seq)).toEqual([3, 4, 5]);
      // The same rows a read gives (text, ids, times).
      expect(sixth.history).toEqual(await store.recentMessages(tenantA, c, 5, 3, 'primary'));
      const again = await store.appendMessage({ ...user(tenantA, c, 6), history: 3 });
      expect([again.created, again.history]).toEqual([false, undefined]);
    });
  });
}
