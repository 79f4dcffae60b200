/**
 * The directory of people known by name, on Deno KV. Keys:
 *
 * ```
 * ["known", "id", userId]                    ChatUser
 * ["known", "name", lowerCaseName, userId]   ChatUser
 * ```
 *
 * Both expire after the time given to `remember` (a session's lifetime).
 *
 * @module
 */

import type { ChatUser } from "../chat/types.ts";
import type { DirectoryStore } from "./access_types.ts";

/** The name as looked up: lower case, so "ana" finds "Ana". */
function nameKey(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** {@link DirectoryStore} on Deno KV (keys in the module's documentation). */
export class KvDirectoryStore implements DirectoryStore {
  constructor(private readonly kv: Deno.Kv) {}

  async remember(user: ChatUser, ttlMs: number): Promise<void> {
    const known: ChatUser = { id: user.id, name: user.name, kind: user.kind };
    if (user.picture) known.picture = user.picture;
    const previous = await this.kv.get<ChatUser>(["known", "id", user.id]);
    const op = this.kv.atomic()
      .set(["known", "id", user.id], known, { expireIn: ttlMs })
      .set(["known", "name", nameKey(user.name), user.id], known, {
        expireIn: ttlMs,
      });
    // A renamed person is not found under the old name.
    if (previous.value && nameKey(previous.value.name) !== nameKey(user.name)) {
      op.delete(["known", "name", nameKey(previous.value.name), user.id]);
    }
    await op.commit();
  }

  async byId(id: string): Promise<ChatUser | null> {
    return (await this.kv.get<ChatUser>(["known", "id", id])).value;
  }

  async byName(name: string, limit: number): Promise<ChatUser[]> {
    const out: ChatUser[] = [];
    for await (
      const entry of this.kv.list<ChatUser>({
        prefix: ["known", "name", nameKey(name)],
      }, { limit })
    ) out.push(entry.value);
    return out;
  }
}
