import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { ConversationStore, Tenant } from '@parley/conversations';
import { ServiceError } from '@parley/service-kit';
import { GatewayErrors, type GatewayErrorCode } from '../domain/errors.js';
import { parseSessionRequest, sessionRequestSchema } from '../domain/session-request.js';
import type { WidgetTokens } from '../domain/tokens.js';
import { WS_PATH } from '../ws/socket-server.js';
import type { IpLimiter } from './ip-limiter.js';

/** Whether `signature` is the hex HMAC-SHA256 of `id` under the tenant's identity secret. */
function signedBy(secret: string, id: string, signature: string): boolean {
  const expected = createHmac('sha256', secret).update(id).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Options for {@link sessionsRoute}. */
export interface SessionsRouteOptions {
  store: ConversationStore;
  tokens: WidgetTokens;
  ipLimiter: IpLimiter;
  onRefused(code: GatewayErrorCode): void;
  /** The tenants by widget key this pod remembers (30 s); the tenant API clears it on a change. */
  tenantCache?: TenantCache;
}

/** Tenants by widget key (null: no such key), as {@link sessionsRoute} remembers them. */
export type TenantCache = LRUCache<string, { tenant: Tenant | null }>;

/** A {@link TenantCache}: a known key for 30 s, an unknown one for 2 s (set per entry). */
export const tenantCache = (): TenantCache => new LRUCache({ max: 10_000, ttl: 30_000 });

function fail(code: GatewayErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ServiceError(code, message, GatewayErrors[code], { details });
}

/** What a session request is answered with (201). */
const sessionAnswer = z.object({
  sessionToken: z.string().describe('For the socket: `?token=` on `websocketPath`'),
  expiresAt: z.string(),
  visitorToken: z.string().describe('Sent back in later session requests: the same visitor'),
  visitorId: z.string(),
  conversationId: z.string(),
  websocketPath: z.string(),
});

/**
 * `POST /v1/widget/sessions`: a tenant's public widget key, called from one of
 * its allowed origins, gives a short-lived session token for the socket,
 * bound to tenant, visitor, conversation and origin. A returning visitor
 * sends their visitor token (and may continue a conversation of theirs).
 */
export async function sessionsRoute(app: FastifyInstance, options: SessionsRouteOptions) {
  const tenants = options.tenantCache ?? tenantCache();
  const tenantFor = async (widgetKey: string) => {
    const hit = tenants.get(widgetKey);
    if (hit) return hit.tenant;
    // A key the replica does not know yet may be a tenant created a moment ago: ask the primary.
    const tenant =
      (await options.store.tenantByWidgetKey(widgetKey)) ??
      (await options.store.tenantByWidgetKey(widgetKey, 'primary'));
    // Unknown keys are remembered briefly only, so a new tenant works at once.
    tenants.set(widgetKey, { tenant }, tenant ? {} : { ttl: 2_000 });
    return tenant;
  };

  app.post(
    '/v1/widget/sessions',
    {
      schema: {
        tags: ['widget'],
        summary: 'A session for the chat socket, from a widget key and an allowed Origin',
        description:
          "Public; called from one of the tenant's allowed origins (the `Origin` header is required). " +
          'Rate limited per client address (429 `GW_ERR_RATE_LIMITED` with `retry-after`).',
        body: sessionRequestSchema,
        response: { 201: sessionAnswer },
      },
    },
    async (request, reply) => {
      const refused = (
        code: GatewayErrorCode,
        message: string,
        details?: Record<string, unknown>,
      ) => {
        options.onRefused(code);
        return fail(code, message, details);
      };
      const waitMs = await options.ipLimiter.check(request.raw);
      if (waitMs > 0) {
        void reply.header('retry-after', Math.ceil(waitMs / 1000));
        return refused('GW_ERR_RATE_LIMITED', 'too many session requests', {
          retryAfterMs: waitMs,
        });
      }
      const parsed = parseSessionRequest(request.body);
      if (!parsed.ok) return refused('GW_ERR_BAD_REQUEST', parsed.message);
      const body = parsed.request;
      const origin = request.headers.origin;
      if (!origin) return refused('GW_ERR_ORIGIN_REQUIRED', 'an Origin header is required');
      const tenant = await tenantFor(body.widgetKey);
      if (!tenant) return refused('GW_ERR_UNKNOWN_WIDGET_KEY', 'unknown widget key');
      if (!tenant.allowedOrigins.includes(origin))
        return refused('GW_ERR_ORIGIN_FORBIDDEN', 'this origin is not allowed for this widget');

      if (body.customer) {
        if (!tenant.identitySecret)
          return refused('GW_ERR_IDENTITY_INVALID', 'this site does not verify customers');
        if (!signedBy(tenant.identitySecret, body.customer.id, body.customer.signature))
          return refused('GW_ERR_IDENTITY_INVALID', "the customer's signature does not match");
      }

      let visitorId: string;
      if (body.visitorToken) {
        const visitor = await options.tokens.verifyVisitor(body.visitorToken, tenant.id);
        if (!visitor)
          return refused(
            'GW_ERR_VISITOR_TOKEN_INVALID',
            'invalid or expired visitor token; start over without it',
          );
        visitorId = visitor.visitorId;
      } else {
        visitorId = randomUUID();
      }
      // A conversation is continued when it is the visitor's: stored with them as its visitor,
      // or (no message yet) issued to them. Any other id starts a new conversation.
      let conversationId = options.tokens.newConversationId(tenant.id, visitorId);
      if (body.conversationId) {
        const existing = await options.store.conversation(tenant.id, body.conversationId);
        if (existing && existing.visitorId !== visitorId)
          return refused(
            'GW_ERR_CONVERSATION_FORBIDDEN',
            'this conversation belongs to someone else',
          );
        if (existing || options.tokens.issuedTo(body.conversationId, tenant.id, visitorId))
          conversationId = body.conversationId;
      }
      const session = await options.tokens.issueSession({
        tenantId: tenant.id,
        visitorId,
        conversationId,
        origin,
        ...(body.language ? { language: body.language.split('-')[0]!.toLowerCase() } : {}),
        ...(body.customer ? { customerId: body.customer.id } : {}),
      });
      return reply.code(201).send({
        sessionToken: session.token,
        expiresAt: session.expiresAt.toISOString(),
        visitorToken: await options.tokens.issueVisitor({ tenantId: tenant.id, visitorId }),
        visitorId,
        conversationId,
        websocketPath: WS_PATH,
      });
    },
  );
}
