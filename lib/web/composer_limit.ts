/**
 * How a draft stands against the message length limit, counted as the
 * server counts (`normalizeMessageText`, then `MAX_MESSAGE_CHARS`), so the
 * composer never cuts text: it shows a counter near the limit and refuses,
 * saying why, past it. Pure and browser-safe.
 *
 * @module
 */

import { MAX_MESSAGE_CHARS, normalizeMessageText } from "../chat/protocol.ts";

/**
 * The counter shows from this many characters left: about a screenful of
 * warning before the limit, and nothing to distract in ordinary messages.
 */
export const COUNTER_FROM_REMAINING = 500;

/** A draft's length against the limit. */
export type DraftLength =
  | { state: "fine" }
  /** Within {@link COUNTER_FROM_REMAINING} of the limit (or at it): how many are left. */
  | { state: "near"; remaining: number }
  /** Past the limit: by how much. Not sent. */
  | { state: "over"; over: number };

/**
 * Where `draft` stands.
 *
 * @example
 * ```ts
 * draftLength("hi"); // { state: "fine" }
 * draftLength("x".repeat(4_001)); // { state: "over", over: 1 }
 * ```
 */
export function draftLength(draft: string): DraftLength {
  const length = normalizeMessageText(draft).length;
  const remaining = MAX_MESSAGE_CHARS - length;
  if (remaining < 0) return { state: "over", over: -remaining };
  if (remaining <= COUNTER_FROM_REMAINING) return { state: "near", remaining };
  return { state: "fine" };
}

/** What the composer says about a draft's length, if anything. */
export function lengthLabel(length: DraftLength): string | null {
  switch (length.state) {
    case "fine":
      return null;
    case "near":
      return `${length.remaining.toLocaleString("en-US")} characters left`;
    case "over":
      return `${length.over.toLocaleString("en-US")} characters over the ${
        MAX_MESSAGE_CHARS.toLocaleString("en-US")
      } limit: shorten it to send`;
    default: {
      const _exhaustive: never = length;
      return null;
    }
  }
}
