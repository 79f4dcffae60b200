/**
 * Invite links for tests: one stored directly, as a moderator's "Invite"
 * would make it (an hour, one use, room "team" unless told otherwise).
 */
import { newInviteToken } from "../../lib/chat/invites.ts";
import type { Reactor } from "../../lib/chat/types.ts";
import type { Invite } from "../../lib/store/access_types.ts";
import type { TestServer } from "./server.ts";

/** Stores a usable invite by `by` and returns it; `overrides` change any field. */
export async function storeInvite(
  server: TestServer,
  by: Reactor,
  overrides: Partial<Invite> = {},
): Promise<Invite> {
  const now = Date.now();
  const made: Invite = {
    token: newInviteToken(),
    room: "team",
    by,
    created: now,
    expires: now + 3_600_000,
    maxUses: 1,
    uses: 0,
    ...overrides,
  };
  await server.services.invites.create(made);
  return made;
}
