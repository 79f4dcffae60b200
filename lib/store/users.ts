/**
 * Signed-in users on Deno KV, keyed by their provider's stable subject.
 *
 * @module
 */

import type { StoredUser, UserProfile, UserStore } from "./types.ts";

/** {@link UserStore} on Deno KV: `["user", "google", sub]`. */
export class KvUserStore implements UserStore {
  constructor(private readonly kv: Deno.Kv) {}

  async upsertGoogle(
    profile: UserProfile,
    now = Date.now(),
  ): Promise<StoredUser> {
    const key = ["user", "google", profile.sub];
    const existing = await this.kv.get<StoredUser>(key);
    const user: StoredUser = {
      ...profile,
      firstSeen: existing.value?.firstSeen ?? now,
      lastSeen: now,
    };
    await this.kv.set(key, user);
    return user;
  }

  async getGoogle(sub: string): Promise<StoredUser | null> {
    return (await this.kv.get<StoredUser>(["user", "google", sub])).value;
  }
}
