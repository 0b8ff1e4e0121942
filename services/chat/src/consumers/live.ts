import { conversationChannel, type LiveUpdate } from '@parley/contracts';
import type { Appended } from '@parley/conversations';
import type { ChatDeps } from '../deps.js';

/** Writes the conversation's state through both cache levels; a cache failure is only logged. */
export async function remember(
  deps: ChatDeps,
  appended: Pick<Appended, 'conversation' | 'position'>,
): Promise<void> {
  const { conversation, position } = appended;
  await deps.sessions
    .put(conversation.tenantId, conversation.id, {
      status: conversation.status,
      handler: conversation.handler,
      handoff: conversation.handoff,
      lastSeq: conversation.lastSeq,
      visitorId: conversation.visitorId,
      channel: conversation.channel,
      position,
      homeRegion: conversation.homeRegion,
    })
    .catch((err: unknown) => deps.logger.warn({ err }, 'Session state not cached'));
}

/** Best effort: a socket that misses it catches up from storage on resume. */
export async function publishLive(
  deps: ChatDeps,
  tenantId: string,
  conversationId: string,
  update: LiveUpdate,
): Promise<void> {
  await deps.cache
    .publish(conversationChannel(tenantId, conversationId), JSON.stringify(update))
    .catch((err: unknown) =>
      deps.logger.warn({ err, conversationId }, 'Live update not published'),
    );
}
