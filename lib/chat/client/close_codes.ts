/**
 * What the client does when its socket closes, by close code: the client's
 * half of the close-code table in `lib/shared.ts` (ARCHITECTURE.md lists
 * both). Pure.
 *
 * @module
 */

import { CloseCode, TERMINAL_CLOSE_CODES } from "../../shared.ts";

/**
 * What a close means for the client:
 * - `signed-out`: the session ended (4001): offer sign-in, keep the outbox;
 * - `banned` (4004): stop for good;
 * - `no-access` (4005): the room is for its members only now: stop; the
 *   page, loaded again, says whether that changed;
 * - `kicked` (4003): stop until the user rejoins;
 * - `flood` (4029): not a sign-out; reconnect after a pause and send slower;
 * - `reconnect`: anything else (1012 restarting, 1013 try again, 1006 no
 *   close frame, …): reconnect soon, with jittered backoff.
 */
export type CloseOutcome =
  | "signed-out"
  | "banned"
  | "no-access"
  | "kicked"
  | "flood"
  | "reconnect";

/**
 * The client's outcome for close `code`. Only the terminal codes
 * (`TERMINAL_CLOSE_CODES`) stop reconnecting by themselves.
 *
 * @example
 * ```ts
 * closeOutcome(CloseCode.rateLimited); // "flood" (never a sign-out)
 * closeOutcome(CloseCode.restart);     // "reconnect"
 * ```
 */
export function closeOutcome(code: number): CloseOutcome {
  if (TERMINAL_CLOSE_CODES.has(code)) {
    if (code === CloseCode.banned) return "banned";
    return code === CloseCode.noAccess ? "no-access" : "signed-out";
  }
  if (code === CloseCode.kicked) return "kicked";
  if (code === CloseCode.rateLimited) return "flood";
  return "reconnect";
}
