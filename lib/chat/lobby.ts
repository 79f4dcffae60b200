/**
 * The lobby's list of rooms: people online (presence, across instances) and
 * the last message's time (store), most active first.
 *
 * The lobby island polls a snapshot rather than joining a lobby group: the
 * snapshot is correct across instances by construction (both sources are
 * shared), costs one cached computation per instance however many people
 * watch the lobby, and a few seconds of staleness is fine there.
 *
 * @module
 */

import type { MessageStore } from "../store/types.ts";
import type { PresenceTracker } from "./presence_tracker.ts";
import type { LobbyRoom } from "./types.ts";

/** How long one lobby snapshot is reused. */
export const LOBBY_CACHE_MS = 2_000;
/** Rooms in the lobby list. */
export const LOBBY_ROOMS = 20;

/** Most active first: people online, then the latest message. */
export function rankRooms(rooms: LobbyRoom[]): LobbyRoom[] {
  return [...rooms].sort((a, b) =>
    b.online - a.online || b.lastTs - a.lastTs || a.room.localeCompare(b.room)
  );
}

/** Builds (and caches for {@link LOBBY_CACHE_MS}) lobby snapshots. */
export class Lobby {
  #cached: { at: number; rooms: Promise<LobbyRoom[]> } | null = null;

  constructor(
    private readonly store: MessageStore,
    private readonly presence: PresenceTracker,
  ) {}

  /** The current snapshot. */
  rooms(now: number = Date.now()): Promise<LobbyRoom[]> {
    if (this.#cached && now - this.#cached.at < LOBBY_CACHE_MS) {
      return this.#cached.rooms;
    }
    const rooms = this.#build();
    this.#cached = { at: now, rooms };
    rooms.catch(() => (this.#cached = null));
    return rooms;
  }

  /** Drops the cached snapshot (a test, or after a change this instance made). */
  invalidate(): void {
    this.#cached = null;
  }

  async #build(): Promise<LobbyRoom[]> {
    const [recent, online] = await Promise.all([
      this.store.rooms(LOBBY_ROOMS * 5),
      this.presence.onlineByRoom(),
    ]);
    const byRoom = new Map<string, LobbyRoom>();
    for (const r of recent) {
      byRoom.set(r.room, {
        room: r.room,
        online: 0,
        lastTs: r.lastTs,
        lastSeq: r.lastSeq,
      });
    }
    for (const [room, count] of online) {
      const entry = byRoom.get(room) ??
        { room, online: 0, lastTs: 0, lastSeq: 0 };
      entry.online = count;
      byRoom.set(room, entry);
    }
    return rankRooms([...byRoom.values()]).slice(0, LOBBY_ROOMS);
  }
}
