import type {
  AgentRepliedV1,
  Event,
  HandoffAcceptedV1,
  HandoffClosedV1,
  HandoffRequestedV1,
  HandoffTransferredV1,
} from '@parley/contracts';
import type { Appended, Conversation, StatePatch } from '@parley/conversations';
import type { WritePosition } from '@parley/ports';
import type { ChatDeps } from '../deps.js';
import { publishLive, remember } from './live.js';

/**
 * How a conversation changes hands, as the chat service stores it: a handoff
 * waits, an agent joins (a system message; the bot is muted), agents reply
 * (any agent reply takes the conversation), the agent closes it (the bot
 * answers again). Each change reaches the widget as a `state` update, and
 * each message as a `message` update.
 */
export async function onHandoffRequested(
  deps: ChatDeps,
  event: Event<HandoffRequestedV1>,
): Promise<void> {
  const current = await deps.store.conversation(event.tenant_id, event.conversation_id, 'primary');
  if (!current || current.handler !== 'bot' || current.handoff === 'waiting') return;
  const changed = await deps.store.setState(event.tenant_id, event.conversation_id, {
    handoff: 'waiting',
  });
  if (changed) await tell(deps, changed.conversation, changed.position);
}

export async function onHandoffAccepted(
  deps: ChatDeps,
  event: Event<HandoffAcceptedV1>,
): Promise<void> {
  await appendAndTell(deps, event, {
    role: 'system',
    // Per event: a handoff accepted again (after a transfer to a queue or a requeue) is news too.
    clientMessageId: `handoff:${event.payload.handoff_id}:accepted:${event.event_id}`,
    text: `${event.payload.agent_name} joined the conversation.`,
    state: { handler: 'agent', handoff: 'none' },
  });
}

/** What the assistant asks after an agent closed, for tenants that want it. */
export const SATISFACTION_QUESTION =
  'Thank you for chatting with us. How would you rate the help you got, from 1 (poor) to 5 (excellent)?';

export async function onHandoffClosed(
  deps: ChatDeps,
  event: Event<HandoffClosedV1>,
): Promise<void> {
  await appendAndTell(deps, event, {
    role: 'system',
    clientMessageId: `handoff:${event.payload.handoff_id}:closed`,
    text:
      event.payload.outcome === 'resolved'
        ? 'The agent has left the conversation. The assistant will answer from here.'
        : 'The assistant will answer from here.',
    state: { handler: 'bot', handoff: 'none' },
  });
  // The bot resumes, and continues the flow the tenant chose: a satisfaction question.
  if (event.payload.outcome !== 'resolved') return;
  const settings = await deps.replySettings(event.tenant_id);
  if (!settings.ai.satisfaction_question) return;
  await appendAndTell(deps, event, {
    role: 'assistant',
    messageId: `${event.event_id}:survey`,
    clientMessageId: `handoff:${event.payload.handoff_id}:survey`,
    eventId: `${event.event_id}:survey`,
    text: SATISFACTION_QUESTION,
    state: {},
  });
}

export async function onHandoffTransferred(
  deps: ChatDeps,
  event: Event<HandoffTransferredV1>,
): Promise<void> {
  const { payload } = event;
  const toAgent = payload.to === 'agent' && payload.agent_name;
  await appendAndTell(deps, event, {
    role: 'system',
    clientMessageId: `handoff:${payload.handoff_id}:transfer:${event.event_id}`,
    text: toAgent
      ? `${payload.agent_name} joined the conversation.`
      : 'You are being transferred: the next available member of our team will reply here.',
    // Back in the queue, the assistant answers meanwhile, as for any waiting handoff.
    state: toAgent ? { handler: 'agent', handoff: 'none' } : { handler: 'bot', handoff: 'waiting' },
  });
}

export async function onAgentReplied(deps: ChatDeps, event: Event<AgentRepliedV1>): Promise<void> {
  await appendAndTell(deps, event, {
    role: 'agent',
    messageId: event.payload.message_id,
    clientMessageId: `agent:${event.payload.client_message_id}`,
    text: event.payload.text,
    state: { handler: 'agent', handoff: 'none' },
  });
}

async function appendAndTell(
  deps: ChatDeps,
  event: Event,
  message: {
    role: 'system' | 'agent' | 'assistant';
    messageId?: string;
    /** Defaults to the event's id (one message per event). */
    eventId?: string;
    clientMessageId: string;
    text: string;
    state: StatePatch;
  },
): Promise<void> {
  const conversation = await deps.store.conversation(
    event.tenant_id,
    event.conversation_id,
    'primary',
  );
  if (!conversation) {
    deps.logger.warn(
      { conversationId: event.conversation_id },
      'Handoff for an unknown conversation dropped',
    );
    return;
  }
  const before = { handler: conversation.handler, handoff: conversation.handoff };
  const appended: Appended = await deps.store.appendMessage({
    tenantId: event.tenant_id,
    conversationId: event.conversation_id,
    visitorId: conversation.visitorId,
    channel: conversation.channel,
    role: message.role,
    messageId: message.messageId ?? event.event_id,
    clientMessageId: message.clientMessageId,
    eventId: message.eventId ?? event.event_id,
    text: message.text,
    receivedAt: new Date(event.occurred_at),
    state: message.state,
  });
  if (appended.created) deps.metrics?.stored(message.role);
  await remember(deps, appended);
  await publishLive(deps, event.tenant_id, event.conversation_id, {
    kind: 'message',
    message: appended.message,
  });
  const after = appended.conversation;
  if (after.handler !== before.handler || after.handoff !== before.handoff)
    await tell(deps, after, appended.position);
}

/** Caches the new state and sends it to the sockets. */
async function tell(deps: ChatDeps, conversation: Conversation, position: WritePosition) {
  await remember(deps, { conversation, position });
  await publishLive(deps, conversation.tenantId, conversation.id, {
    kind: 'state',
    state: {
      status: conversation.status,
      handler: conversation.handler,
      handoff: conversation.handoff,
      lastSeq: conversation.lastSeq,
    },
  });
}
