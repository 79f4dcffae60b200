/**
 * The people and settings of the room store's tests (`rooms_test.ts`,
 * `room_rules_test.ts`): an owner, a Google user and a guest.
 */
import type { Reactor, Sanction } from "../../../lib/chat/types.ts";

export { DEFAULT_ROOM_SETTINGS as SETTINGS } from "../../../lib/chat/moderation.ts";

export const OWEN: Reactor = { id: "google:owen", name: "Owen" };
export const MIA: Reactor = { id: "google:mia", name: "Mia" };
export const GUS: Reactor = { id: "guest:gus", name: "Gus" };

/** A ban of `user` by Owen for good, made at `ts`. */
export function banOf(user: Reactor, ts = 1): Sanction {
  return { kind: "ban", user, until: null, by: OWEN, ts };
}
