import { z } from 'zod';

/**
 * Text Postgres can store: its `text` type refuses U+0000 (NUL), the only
 * character it cannot hold. Everything else (emoji, right-to-left marks,
 * other control characters) is kept as written.
 */
export const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((text) => !text.includes('\u0000'), 'must not contain the NUL character (U+0000)');
