/**
 * Direct messages: a private two-person room per pair of signed-in (Google)
 * users, named from their two ids (`directRoomName`), so either finds it
 * again; and each person's list of conversations with unread counts (the
 * room's `lastSeq` minus their read marker).
 *
 * @module
 */

import type { DirectStore } from "../store/access_types.ts";
import type { MessageStore, RoomStore } from "../store/types.ts";
import {
  DIRECT_ROOM_SETTINGS,
  type DirectRefusal,
  directRefusal,
  directRoomName,
} from "./access.ts";
import type { ChatUser, Reactor } from "./types.ts";

/** Conversations listed per person (the newest first). */
export const MAX_CONVERSATIONS = 50;
/**
 * Unread messages counted per conversation: past it the pill says "99+",
 * and counting more would read more of the log for nothing.
 */
export const MAX_UNREAD_COUNTED = 100;

/** What opening a conversation needs. */
export interface DirectDeps {
  rooms: Pick<RoomStore, "create" | "members" | "setRole">;
  directs: Pick<DirectStore, "link">;
}

/** The outcome of {@link openDirect}. */
export type OpenResult =
  | { ok: true; room: string }
  /** `taken`: a room of that name exists that the direct path did not make (it stays hidden). */
  | { ok: false; reason: Exclude<DirectRefusal, null> | "taken" };

function reactor(user: ChatUser): Reactor {
  return { id: user.id, name: user.name };
}

/**
 * Opens (or finds again) the conversation between `me` and `other`: the room
 * `dm-<hash>` is made private with no owner, both are its members, and it is
 * listed for both. Idempotent: every step keeps what is already there, so a
 * second call, or two people opening it at once, end the same.
 *
 * @example
 * ```ts
 * const opened = await openDirect(services, ana, ben);
 * if (opened.ok) redirect(`/chat/${opened.room}`);
 * ```
 */
export async function openDirect(
  deps: DirectDeps,
  me: ChatUser,
  other: ChatUser,
  now = Date.now(),
): Promise<OpenResult> {
  const refusal = directRefusal(me, other);
  if (refusal) return { ok: false, reason: refusal };
  const room = await directRoomName(me.id, other.id);
  const { info } = await deps.rooms.create(
    room,
    null,
    DIRECT_ROOM_SETTINGS,
    now,
  );
  if (info.owner !== null || info.settings.visibility !== "private") {
    return { ok: false, reason: "taken" };
  }
  const members = new Set(
    (await deps.rooms.members(room, 3)).map((m) => m.user.id),
  );
  for (const person of [me, other]) {
    if (!members.has(person.id)) {
      await deps.rooms.setRole(room, reactor(person), "member", now);
    }
  }
  await deps.directs.link(room, reactor(me), reactor(other), now);
  return { ok: true, room };
}

/** One conversation as its person's list shows it. */
export interface ConversationView {
  room: string;
  /** The other person. */
  with: Reactor;
  /**
   * Messages after the person's read marker (not edits, reactions or
   * deletes), at most {@link MAX_UNREAD_COUNTED}.
   */
  unread: number;
  /** The last message's time (0: none yet), ms since the epoch. */
  lastTs: number;
}

/** Newest activity first, then unread first, then by name. */
export function sortConversations(
  list: ConversationView[],
): ConversationView[] {
  return [...list].sort((a, b) =>
    b.lastTs - a.lastTs || b.unread - a.unread ||
    a.with.name.localeCompare(b.with.name)
  );
}

/** What listing conversations reads. */
export interface ConversationDeps {
  directs: Pick<DirectStore, "conversations" | "lastRead">;
  store: Pick<MessageStore, "summaries" | "countAfter">;
}

/**
 * `userId`'s conversations with their unread counts, newest first: three
 * reads (the list, the rooms' heads, the person's markers) whatever their
 * number, up to {@link MAX_CONVERSATIONS}, and one more for each with
 * something after its marker (counting its messages: edits and reactions take
 * a `seq` too, and are not unread messages).
 */
export async function conversationsOf(
  deps: ConversationDeps,
  userId: string,
): Promise<ConversationView[]> {
  const list = await deps.directs.conversations(userId, MAX_CONVERSATIONS);
  const rooms = list.map((c) => c.room);
  const [summaries, reads] = await Promise.all([
    deps.store.summaries(rooms),
    deps.directs.lastRead(userId, rooms),
  ]);
  const heads = new Map(summaries.map((s) => [s.room, s]));
  return sortConversations(
    await Promise.all(list.map(async (c, i) => {
      const head = heads.get(c.room);
      const unread = (head?.lastSeq ?? 0) > reads[i]
        ? await deps.store.countAfter(c.room, reads[i], MAX_UNREAD_COUNTED)
        : 0;
      return {
        room: c.room,
        with: c.with,
        unread,
        lastTs: head?.lastTs ?? 0,
      };
    })),
  );
}
