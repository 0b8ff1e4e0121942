/** One entry of the bundled FAQ: ways people ask, and the answer. */
export interface FaqEntry {
  questions: string[];
  answer: string;
}

/**
 * The offline provider's knowledge: enough for a demo that answers without
 * any API key. Operators replace it per tenant once the knowledge base lands.
 */
export const DEFAULT_FAQ: readonly FaqEntry[] = [
  {
    questions: ['hello', 'hi there', 'good morning', 'hey', 'good evening'],
    answer:
      'Hello! I am the Parley assistant. Ask me about opening hours, orders, refunds or your account.',
  },
  {
    questions: [
      'what are your opening hours',
      'when are you open',
      'business hours',
      'what time do you close',
    ],
    answer:
      'Our support team is available Monday to Friday, 9:00 to 18:00 (local time). I am here around the clock.',
  },
  {
    questions: [
      'how do i reset my password',
      'forgot my password',
      'cannot log in',
      'password reset link',
    ],
    answer:
      'Use "Forgot password" on the sign-in page; we e-mail you a reset link that is valid for 30 minutes.',
  },
  {
    questions: ['how do i get a refund', 'refund policy', 'money back', 'return an item'],
    answer:
      'You can return any item within 30 days for a full refund. Start the return from your order page.',
  },
  {
    questions: [
      'where is my order',
      'track my order',
      'shipping status',
      'when will my package arrive',
      'delivery time',
    ],
    answer: 'Orders ship within 2 business days; the tracking link is in your confirmation e-mail.',
  },
  {
    questions: ['how much does it cost', 'pricing', 'what are your prices', 'plans and prices'],
    answer:
      'Plans start with a free tier; paid plans are billed monthly per seat. See the pricing page for details.',
  },
  {
    questions: ['talk to a human', 'speak to an agent', 'real person please', 'human support'],
    answer:
      'I can hand you over to a person. Our team answers during opening hours, Monday to Friday, 9:00 to 18:00.',
  },
  {
    questions: ['who are you', 'are you a bot', 'what can you do'],
    answer:
      'I am an automated assistant. I answer common questions and hand you to a person when I cannot help.',
  },
  {
    questions: ['thank you', 'thanks', 'that helped', 'great thanks'],
    answer: 'You are welcome! Is there anything else I can help with?',
  },
];

/** What the offline provider says when nothing in the FAQ matches. */
export const FALLBACK_ANSWER =
  'Sorry, I do not know that yet. Could you rephrase it, or ask to talk to a person?';

/**
 * The design's third level of backup responses (after a cached answer and a
 * template): static answers when no model, cached answer or template can
 * answer. Each one comes with a handoff to a human.
 */
export const STATIC_ANSWERS = {
  /** Every model failed and nothing else matched (L0-L3). */
  apology:
    'Sorry, I cannot answer that right now. I have passed your question to a member of our team, who will reply here as soon as possible.',
  /** L1: the models are struggling, so a person takes over sooner. */
  escalate:
    'I am not able to answer that reliably at the moment, so I have asked a member of our team to help. They will reply here shortly.',
  /** The user asked for a person. */
  handover:
    'Of course. I have asked a member of our team to join this conversation; they will reply here as soon as they can.',
  /** Added to an answer the model itself was unsure of. */
  unsure:
    'I may not have this right, so I have asked a member of our team to check; they will reply here shortly.',
  /** A VIP customer's new conversation. */
  vip: 'Welcome back. I have asked a member of our team to join this conversation; they will reply here shortly.',
  /** L4: human-only mode. */
  humanOnly:
    'Our automated assistant is unavailable right now, so a member of our team will answer you here. Thank you for your patience.',
  /** L5: the callback queue. */
  callback:
    'We are having a service disruption and cannot answer live right now. Please leave your phone number or e-mail address here and we will call you back as soon as we can.',
} as const;
