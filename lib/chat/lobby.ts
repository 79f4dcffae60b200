/**
 * The lobby's list of rooms: people online (presence, across instances) and
 * the last message's time (store), most active first.
 *
 * A snapshot reads the store's rooms-by-activity index ({@link LOBBY_RECENT}
 * newest rooms, whatever the number of rooms) and looks up the last message
 * of the populated rooms outside it ({@link roomsToLookUp}), so every room
 * listed has its true `lastSeq` and `lastTs`.
 *
 * The lobby island polls a snapshot rather than joining a lobby group: the
 * snapshot is correct across instances by construction (both sources are
 * shared), costs one cached computation per instance however many people
 * watch the lobby, and a few seconds of staleness is fine there.
 *
 * @module
 */

import type { MessageStore, RoomStore } from "../store/types.ts";
import { listedInLobby } from "./access.ts";
import { isDirectRoom } from "./names.ts";
import type { PresenceTracker } from "./presence_tracker.ts";
import type { LobbyRoom } from "./types.ts";

/** How long one lobby snapshot is reused. */
export const LOBBY_CACHE_MS = 2_000;
/** Rooms in the lobby list. */
export const LOBBY_ROOMS = 20;
/** Most recently active rooms read (from the store's index) per snapshot. */
export const LOBBY_RECENT = LOBBY_ROOMS * 5;
/**
 * Rooms with people online but outside {@link LOBBY_RECENT} whose last
 * message is looked up per snapshot: enough for any of them to rank
 * correctly in the list (bounds a snapshot's reads when people are spread
 * over very many rooms).
 */
export const MAX_LOBBY_LOOKUPS = 200;

/**
 * The online rooms (room → people) missing from `known` whose last message
 * decides whether they make the list: those with at least as many people as
 * the {@link LOBBY_ROOMS}-th most populated of them (ties included), most
 * populated first, at most {@link MAX_LOBBY_LOOKUPS}.
 *
 * @example
 * ```ts
 * roomsToLookUp(new Map([["a", 3], ["b", 1]]), new Set(["a"])); // ["b"]
 * ```
 */
export function roomsToLookUp(
  online: ReadonlyMap<string, number>,
  known: ReadonlySet<string>,
): string[] {
  const missing = [...online].filter(([room]) => !known.has(room))
    .sort((a, b) => b[1] - a[1]);
  const floor = missing[LOBBY_ROOMS - 1]?.[1] ?? 0;
  return missing.filter(([, count]) => count >= floor)
    .slice(0, MAX_LOBBY_LOOKUPS)
    .map(([room]) => room);
}

/** Most active first: people online, then the latest message. */
export function rankRooms(rooms: LobbyRoom[]): LobbyRoom[] {
  return [...rooms].sort((a, b) =>
    b.online - a.online || b.lastTs - a.lastTs || a.room.localeCompare(b.room)
  );
}

/** Builds (and caches for {@link LOBBY_CACHE_MS}) lobby snapshots. */
export class Lobby {
  #cached: { at: number; rooms: Promise<LobbyRoom[]> } | null = null;

  /**
   * With `records`, only the rooms `listedInLobby` allows are listed (public
   * ones): unlisted, private and direct rooms never show, to anyone.
   */
  constructor(
    private readonly store: MessageStore,
    private readonly presence: PresenceTracker,
    private readonly records?: Pick<RoomStore, "getMany">,
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
      this.store.rooms(LOBBY_RECENT),
      this.presence.onlineByRoom(),
    ]);
    const known = new Set(recent.map((r) => r.room));
    const looked = await this.store.summaries(roomsToLookUp(online, known));
    const byRoom = new Map<string, LobbyRoom>();
    for (const r of [...recent, ...looked]) {
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
    const ranked = rankRooms([...byRoom.values()]);
    return (await this.#listed(ranked)).slice(0, LOBBY_ROOMS);
  }

  /** The rooms of `ranked` the lobby may show, in order (records read at once). */
  async #listed(ranked: LobbyRoom[]): Promise<LobbyRoom[]> {
    const candidates = ranked.filter((r) => !isDirectRoom(r.room));
    const records = this.records;
    if (!records) return candidates;
    const infos = await records.getMany(candidates.map((r) => r.room));
    return candidates.filter((r, i) => listedInLobby(r.room, infos[i]));
  }
}
