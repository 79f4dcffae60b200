/**
 * Signed-in users, keyed by their provider's stable subject (Google `sub`),
 * never by email: an address can change owner, a `sub` cannot.
 *
 * @module
 */

/** What we keep about a Google user. */
export interface StoredUser {
  sub: string;
  name: string;
  email: string;
  picture?: string;
  /** Workspace domain, when Google says there is one. */
  hd?: string;
  /** Milliseconds since the epoch. */
  firstSeen: number;
  lastSeen: number;
}

/** The profile a sign-in presents. */
export type UserProfile = Omit<StoredUser, "firstSeen" | "lastSeen">;

/** Storage of signed-in users. */
export interface UserStore {
  /** Creates or refreshes the user; keeps `firstSeen`. */
  upsertGoogle(profile: UserProfile, now?: number): Promise<StoredUser>;
  getGoogle(sub: string): Promise<StoredUser | null>;
}

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
