/**
 * Invite links on Deno KV. Keys:
 *
 * ```
 * ["invite", token]               Invite (expires a week after the link does)
 * ["room_invite", room, token]    true: the room's index, expiring with it
 * ```
 *
 * @module
 */

import type { Reactor } from "../chat/types.ts";
import type {
  Invite,
  InviteRefusal,
  InviteStore,
  RedeemResult,
} from "./access_types.ts";
import { getManyChunked } from "./kv.ts";

/**
 * How long an invite's record outlives its expiry, so a late visitor is told
 * "expired" rather than "no such invite".
 */
const EXPIRED_KEPT_MS = 7 * 24 * 3_600_000;

/** Most index entries a listing reads (a room's usable invites are far fewer). */
const MAX_LISTED = 200;

/** Attempts of a check-and-set before giving up (another redeemer kept winning). */
const MAX_ATTEMPTS = 20;

/** Why `invite` cannot be used at `now`, or null when it can. */
export function inviteRefusal(
  invite: Invite | null,
  now: number,
): InviteRefusal | null {
  if (!invite) return "not_found";
  if (invite.revoked) return "revoked";
  if (invite.expires <= now) return "expired";
  if (invite.uses >= invite.maxUses) return "used_up";
  return null;
}

/** {@link InviteStore} on Deno KV (keys in the module's documentation). */
export class KvInviteStore implements InviteStore {
  constructor(private readonly kv: Deno.Kv) {}

  async create(invite: Invite): Promise<void> {
    const expireIn = Math.max(1, invite.expires - invite.created) +
      EXPIRED_KEPT_MS;
    await this.kv.atomic()
      .set(["invite", invite.token], invite, { expireIn })
      .set(["room_invite", invite.room, invite.token], true, { expireIn })
      .commit();
  }

  async get(token: string): Promise<Invite | null> {
    return (await this.kv.get<Invite>(["invite", token])).value;
  }

  async list(room: string, limit: number, now = Date.now()): Promise<Invite[]> {
    const tokens: string[] = [];
    for await (
      const entry of this.kv.list({ prefix: ["room_invite", room] }, {
        limit: MAX_LISTED,
      })
    ) tokens.push(entry.key[2] as string);
    const entries = await getManyChunked<Invite>(
      this.kv,
      tokens.map((t) => ["invite", t]),
    );
    return entries.map((e) => e.value)
      .filter((i): i is Invite => inviteRefusal(i, now) === null)
      .sort((a, b) => b.created - a.created)
      .slice(0, limit);
  }

  async revoke(
    room: string,
    token: string,
    by: Reactor,
    now = Date.now(),
  ): Promise<"revoked" | "already" | "unknown"> {
    const key = ["invite", token];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<Invite>(key);
      if (!entry.value || entry.value.room !== room) return "unknown";
      if (entry.value.revoked) return "already";
      const invite: Invite = { ...entry.value, revoked: { by, ts: now } };
      const expireIn = Math.max(1, invite.expires - now) + EXPIRED_KEPT_MS;
      const done = await this.kv.atomic().check(entry)
        .set(key, invite, { expireIn })
        .delete(["room_invite", room, token])
        .commit();
      if (done.ok) return "revoked";
    }
    throw new Error("invite revoke: too much contention");
  }

  async redeem(token: string, now = Date.now()): Promise<RedeemResult> {
    const key = ["invite", token];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<Invite>(key);
      const reason = inviteRefusal(entry.value, now);
      if (reason) {
        return entry.value
          ? { ok: false, reason, invite: entry.value }
          : { ok: false, reason };
      }
      const invite: Invite = { ...entry.value!, uses: entry.value!.uses + 1 };
      const expireIn = Math.max(1, invite.expires - now) + EXPIRED_KEPT_MS;
      const done = await this.kv.atomic().check(entry)
        .set(key, invite, { expireIn }).commit();
      if (done.ok) return { ok: true, invite };
    }
    throw new Error("invite redeem: too much contention");
  }
}
