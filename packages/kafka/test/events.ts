import { EventRegistry, allEvents, messageReceivedV1 } from '@parley/contracts';

/** Every event type, as the services' registries know them. */
export const registry = new EventRegistry(allEvents);

/** The `n`th user message of a conversation (`message_id` `<conversation>-<n>`). */
export function userMessage(tenantId: string, conversationId: string, n: number) {
  return registry.create(messageReceivedV1, {
    conversationId,
    tenantId,
    payload: {
      message_id: `${conversationId}-${n}`,
      client_message_id: `c-${n}`,
      visitor_id: 'v-1',
      channel: 'web',
      text: String(n),
    },
  });
}
