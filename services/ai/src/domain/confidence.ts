/**
 * Phrases with which a model admits it does not know. Models rarely say how
 * confident they are in a number the three providers share, but they do say
 * this; an answer that does is handed to a person (reason `low_confidence`).
 * The `request_human` tool's `not_confident` kind is the model's other way.
 */
const UNSURE = [
  /\bI(?:'m| am) (?:not (?:sure|certain|confident)|unsure|uncertain)\b/i,
  /\bI (?:don't|do not) (?:know|have (?:enough |any )?(?:information|details|data|access))\b/i,
  /\bI (?:can(?:'t|not)|am (?:not )?unable to) (?:find|answer|verify|confirm|determine)\b/i,
  /\bI (?:have no|lack) (?:information|details|data|knowledge|access)\b/i,
  /\bI(?:'m| am) not able to (?:find|answer|verify|confirm|determine)\b/i,
];

/** Whether an answer admits that the model does not know. */
export function soundsUnsure(answer: string): boolean {
  return UNSURE.some((pattern) => pattern.test(answer));
}
