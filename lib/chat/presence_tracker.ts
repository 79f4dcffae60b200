/**
 * Presence for one instance: records its connections in the shared store,
 * beats its heartbeat, announces joins and leaves to the room through the
 * group layer, and sweeps ghosts left by dead instances.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { KvPresenceStore, PresenceRecord } from "../store/presence.ts";
import type { ChannelLayer } from "./layer.ts";
import { emptyPresence, type PresenceState } from "./presence.ts";
import type { ChatUser } from "./protocol.ts";

/** Connections read to count the lobby (bounds the cost of one lobby snapshot). */
export const MAX_LOBBY_CONNECTIONS = 20_000;
/** How often the heartbeat is written and ghosts swept. */
export const PRESENCE_BEAT_MS = 5_000;

function asState(records: readonly PresenceRecord[]): PresenceState {
  const state = emptyPresence();
  for (const r of records) {
    const entry = state[r.user.id] ??
      (state[r.user.id] = { user: r.user, metas: [] });
    entry.metas.push({ conn: r.conn, since: r.since });
  }
  return state;
}

/** Tracks this instance's connections; see the module doc. */
export class PresenceTracker {
  readonly #rooms = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: KvPresenceStore,
    private readonly layer: ChannelLayer,
    private readonly log: Logger,
  ) {}

  /** Starts the heartbeat and the sweep. */
  async start(): Promise<void> {
    await this.store.heartbeat();
    this.#timer = setInterval(
      () =>
        this.tick().catch((err) =>
          this.log.warn("presence.tick_failed", { error: String(err) })
        ),
      PRESENCE_BEAT_MS,
    );
  }

  /** One heartbeat plus a sweep of every room with a local member. */
  async tick(): Promise<void> {
    await this.store.heartbeat();
    for (const room of this.#rooms.keys()) {
      const ghosts = await this.store.sweep(room);
      if (ghosts.length) {
        await this.layer.groupSend(room, {
          type: "presence",
          joins: emptyPresence(),
          leaves: asState(ghosts),
        });
      }
    }
  }

  /** Records a connection and announces it; returns the room's full state for the newcomer. */
  async join(
    room: string,
    user: ChatUser,
    conn: string,
    since: number = Date.now(),
  ): Promise<PresenceState> {
    this.#rooms.set(room, (this.#rooms.get(room) ?? 0) + 1);
    await this.store.track({ room, conn, user, since });
    const record = { room, conn, user, since, instance: this.store.instance };
    await this.layer.groupSend(room, {
      type: "presence",
      joins: asState([record]),
      leaves: emptyPresence(),
    });
    return asState((await this.store.room(room)).live);
  }

  /** Forgets a connection and announces it left. */
  async leave(
    room: string,
    user: ChatUser,
    conn: string,
    since: number,
  ): Promise<void> {
    const left = (this.#rooms.get(room) ?? 1) - 1;
    if (left > 0) this.#rooms.set(room, left);
    else this.#rooms.delete(room);
    await this.store.untrack(room, conn);
    const record = { room, conn, user, since, instance: this.store.instance };
    await this.layer.groupSend(room, {
      type: "presence",
      joins: emptyPresence(),
      leaves: asState([record]),
    });
  }

  /** Distinct people online per room, across instances (for the lobby). */
  onlineByRoom(): Promise<Map<string, number>> {
    return this.store.counts(MAX_LOBBY_CONNECTIONS);
  }

  /** Rooms with a local member (for tests and metrics). */
  get localRooms(): number {
    return this.#rooms.size;
  }

  /** Stops the timers and retires this instance, so others drop its connections at once. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.store.retire().catch(() => {});
  }
}
