/**
 * Presence for one instance: records its connections in the shared store,
 * keeps a view of every room it serves, relays the room's joins and leaves to
 * its local sockets, and drops the connections of dead instances.
 *
 * Why a view: a newcomer needs the room's whole state. Reading it from the
 * store on every join made a join O(room size) in reads and garbage (a
 * 500-person room read 500 keys per newcomer). Instead an instance reads a
 * room once, when it first serves it, then follows the room's diffs on an
 * internal group ({@link trackerGroup}); a join is one KV write. What a
 * newcomer gets is exactly the view: a state joined from each person's
 * encoded entry (re-encoded only when that person's connections change),
 * shared by newcomers while only this instance's own changes followed it (up
 * to {@link STATE_SHARED_MAX_LAG}), with those changes as the same frame's
 * joins and leaves ({@link stateFrame}).
 *
 * Each local socket is told every change to the view after its own join,
 * once: a diff from another instance is applied to the view and what it
 * changed is handed to local sockets in the same step; this instance's own
 * joins and leaves are in the view at once, and go to each local socket with
 * the batch, only those made after its join (see {@link ownDiffs}). So a
 * newcomer that is registered and given its frame in one synchronous step
 * misses nothing, and no join reaches a member twice (a reconnect storm used
 * to send each newcomer the batch's joins again, after its state).
 *
 * Joins and leaves of a room within {@link presenceBatchMs} (50 ms, longer
 * for big rooms) go out as one diff, so a burst of joins (a restart moving
 * everyone) costs a few frames per room, not one per join per member; while
 * changes keep coming window after window the window doubles, up to
 * {@link PRESENCE_STORM_MAX_MS} ({@link presenceWindowMs}), so a burst of
 * changes lasting seconds costs each member a handful of diffs. Lost diffs (BroadcastChannel
 * promises no delivery; a Redis outage) are repaired by a reconcile against
 * the store every {@link PRESENCE_RECONCILE_BEATS} heartbeats and after a
 * layer resync.
 *
 * @module
 */

import { withTimeout } from "../async.ts";
import type { Logger } from "../log.ts";
import {
  PRESENCE_TTL_MS,
  type PresenceRecord,
  type PresenceStore,
} from "../store/types.ts";
import { type Channel, channelInstance, type ChannelLayer } from "./layer.ts";
import { emptyPresence } from "./presence.ts";
import { encodeServerFrame } from "./protocol.ts";
import type { ChatUser, PresenceDiff, PresenceState } from "./types.ts";
import { FramePrefix } from "../shared.ts";

/** Connections read to count the lobby (bounds the cost of one lobby snapshot). */
export const MAX_LOBBY_CONNECTIONS = 20_000;
/** How often the heartbeat is written and dead instances' connections dropped. */
export const PRESENCE_BEAT_MS = 5_000;
/**
 * Longest a dead instance's connections stay in others' presence: its last
 * heartbeat counts for {@link PRESENCE_TTL_MS}, a live instance's next sweep
 * comes within a beat, and one beat more covers a sweep already under way.
 */
export const GHOST_BOUND_MS = PRESENCE_TTL_MS + 2 * PRESENCE_BEAT_MS;
/** Joins and leaves of a room within this window go out as one diff (small rooms). */
export const PRESENCE_BATCH_MS = 50;
/** Larger rooms wait this much longer per person in the room... */
export const PRESENCE_BATCH_MS_PER_MEMBER = 2;
/** ...up to this, so a room's diffs cost at most about 500 frames a second (to rooms up to 500 people). */
export const PRESENCE_BATCH_MAX_MS = 1_000;

/**
 * How long a room's joins and leaves are batched: a diff goes to every
 * member, so the window grows with the room and the frames per second it
 * costs stay bounded (members / window).
 *
 * @example
 * ```ts
 * presenceBatchMs(20); // 50
 * presenceBatchMs(500); // 1000
 * ```
 */
export function presenceBatchMs(members: number): number {
  return Math.min(
    PRESENCE_BATCH_MAX_MS,
    Math.max(PRESENCE_BATCH_MS, members * PRESENCE_BATCH_MS_PER_MEMBER),
  );
}
/**
 * Longest a room's joins and leaves wait during a storm (see
 * {@link presenceWindowMs}): a restart brings everyone back within seconds,
 * and a diff per 100 ms window to each of 50 members was most of the frames
 * it cost (10,000 sockets: 15 presence frames each).
 */
export const PRESENCE_STORM_MAX_MS = 2_000;

/**
 * The batch window of a room's next diff: {@link presenceBatchMs}, doubled
 * for each window in a row that ended with changes already waiting for the
 * next (`streak`), up to {@link PRESENCE_STORM_MAX_MS}. A quiet room (a
 * change after a window without any) starts again from the base, so one
 * person coming or going is shown as soon as before.
 *
 * @example
 * ```ts
 * presenceWindowMs(50, 0); // 100
 * presenceWindowMs(50, 3); // 800
 * presenceWindowMs(50, 9); // 2000
 * ```
 */
export function presenceWindowMs(members: number, streak: number): number {
  const base = presenceBatchMs(members);
  return Math.max(
    base,
    Math.min(PRESENCE_STORM_MAX_MS, base * 2 ** Math.min(streak, 16)),
  );
}

/** Every this many heartbeats each served room is checked against the store. */
export const PRESENCE_RECONCILE_BEATS = 6;

/**
 * Longest a graceful stop ({@link PresenceTracker.stop}) waits for the store
 * to delete this instance's presence records (and retire its heartbeat).
 * Why: a platform gives a stopping process 5 s (Deno Deploy), most of which
 * `lib/instance.ts`'s grace period spends on the sockets' close handshakes;
 * a slow or failing store must not hold a deploy. What is not deleted in
 * time is left to the other instances' ghost sweep ({@link GHOST_BOUND_MS}),
 * as after a crash. A stop of 10,000 connections is 20 commits, a few
 * hundred ms on a busy KV thread.
 */
export const PRESENCE_RELEASE_MS = 1_000;
/**
 * Longest a graceful stop then waits for its leaves to go out on the layer
 * (one send per room). Why: a send is one publish, but a layer that is down
 * (Redis unreachable) must not hold the exit either; the others then drop
 * the connections by their ghost sweep.
 */
export const PRESENCE_ANNOUNCE_MS = 250;

/** The internal group on which instances exchange a room's presence diffs. */
export function trackerGroup(room: string): string {
  // Room names never contain a dot, so this cannot name a room.
  return `presence.${room}`;
}

function asState(records: Iterable<PresenceRecord>): PresenceState {
  const state = emptyPresence();
  for (const r of records) {
    const entry = state[r.user.id] ??
      (state[r.user.id] = { user: r.user, metas: [] });
    entry.metas.push({ conn: r.conn, since: r.since });
  }
  return state;
}

function diffFrame(
  joins: Iterable<PresenceRecord>,
  leaves: Iterable<PresenceRecord>,
): string {
  return encodeServerFrame({
    type: "presence",
    joins: asState(joins),
    leaves: asState(leaves),
  });
}

/**
 * Most of this instance's own changes a shared state frame may lag behind
 * the view (see {@link stateFrame}). Why: in a burst of joins every
 * newcomer got a state of its own — a room of 500 filling up built 500
 * states of 250 entries on average, about 25 MB of strings held as garbage
 * by a connect burst (the idle bench's KiB per socket went from 18.3 to
 * 24.5). A shared state plus the changes since it costs a newcomer about
 * lag / 2 fresh entries and the room's size / lag for the state's rebuilds:
 * least near √(2 × size), 32 for a room of 500.
 */
export const STATE_SHARED_MAX_LAG = 32;

/**
 * Adds a connection to the view; false when it was there already. `own`:
 * one of this instance's numbered changes, which a shared state frame may
 * lag behind (see {@link stateFrame}); any other change makes it stale.
 */
function added(view: RoomView, record: PresenceRecord, own = false): boolean {
  if (view.records.has(record.conn)) return false;
  view.records.set(record.conn, record);
  const person = view.people.get(record.user.id);
  if (person) {
    person.records.set(record.conn, record);
    person.json = null;
  } else {
    view.people.set(record.user.id, {
      records: new Map([[record.conn, record]]),
      json: null,
    });
  }
  changedState(view, own ? { record, seq: view.seq + 1, joined: true } : null);
  return true;
}

/**
 * Notes a change to the view for its shared state frame: one of this
 * instance's own (the state may lag it, up to {@link STATE_SHARED_MAX_LAG}),
 * or any other (null), which makes the frame stale.
 */
function changedState(view: RoomView, own: Pending | null): void {
  if (view.stateJson === null) return;
  if (own && view.sinceState.length < STATE_SHARED_MAX_LAG) {
    view.sinceState.push(own);
  } else {
    view.stateJson = null;
    view.sinceState = [];
  }
}

/** Removes a connection from the view; its record, or undefined when it was not there. `own`: as {@link added}. */
function removed(
  view: RoomView,
  conn: string,
  own = false,
): PresenceRecord | undefined {
  const record = view.records.get(conn);
  if (!record) return undefined;
  view.records.delete(conn);
  const person = view.people.get(record.user.id)!;
  person.records.delete(conn);
  if (person.records.size === 0) view.people.delete(record.user.id);
  else person.json = null;
  changedState(
    view,
    own ? { record, seq: view.seq + 1, joined: false } : null,
  );
  return record;
}

/**
 * One person's entry of an encoded state, `"<id>":{"user":…,"metas":[…]}`,
 * as `JSON.stringify` of {@link asState} writes it (the first record's user,
 * metas in the order given). `records` all belong to one person.
 */
function entryJson(records: Iterable<PresenceRecord>): string {
  const metas = [];
  let user: ChatUser | undefined;
  for (const r of records) {
    user ??= r.user;
    metas.push({ conn: r.conn, since: r.since });
  }
  return `${JSON.stringify(user!.id)}:${JSON.stringify({ user, metas })}`;
}

/** {@link entryJson} of one record, kept while the record is (a change is in a burst's state diff and its batch). */
const recordEntries = new WeakMap<PresenceRecord, string>();

/** One record's entry, encoded once (see {@link recordEntries}). */
function recordEntry(record: PresenceRecord): string {
  let entry = recordEntries.get(record);
  if (entry === undefined) {
    recordEntries.set(record, entry = entryJson([record]));
  }
  return entry;
}

/** How every diff frame begins (`diffFrame` and {@link SuffixFrames} write `type` first). */
const DIFF_FRAME_HEAD = '{"type":"presence",';

/**
 * The presence frame for a newcomer whose own join is the view's latest
 * change: the state, joined from each person's cached entry (a change
 * re-encodes one person, not the room) and shared by newcomers while only
 * this instance's own changes followed it — at most `maxLag`
 * ({@link STATE_SHARED_MAX_LAG}) — with, when it lags, those changes as the
 * frame's `joins` and `leaves`: together exactly the view. One frame, so
 * the client takes all of it as the room it found, not as news (lines such
 * as "Ana joined"). Returned as the frame's parts, to be sent as fragments
 * of one message: the shared state is the first, the same string for a
 * burst of newcomers, so it is built and encoded once for all of them. Each
 * is then told only what follows (see {@link ownDiffs}). A change from
 * another instance makes the state stale.
 */
function stateFrame(view: RoomView, maxLag: number): string[] {
  if (view.stateJson === null || view.sinceState.length > maxLag) {
    const entries: string[] = [];
    for (const person of view.people.values()) {
      entries.push(person.json ??= entryJson(person.records.values()));
    }
    view.stateJson = `{"type":"presence","state":{${entries.join(",")}}`;
    view.sinceState = [];
    return [view.stateJson, "}"];
  }
  const diff = new SuffixFrames(view.sinceState).after(0);
  // `{"type":"presence","state":{…}` + `,"joins":{…},"leaves":{…}}`.
  return [
    view.stateJson,
    diff === null ? "}" : `,${diff.slice(DIFF_FRAME_HEAD.length)}`,
  ];
}

/** One of this instance's changes waiting in a batch, numbered in the order it changed the view. */
interface Pending {
  readonly record: PresenceRecord;
  /** The view's {@link RoomView.seq} after it (0: it never changed the view). */
  readonly seq: number;
  readonly joined: boolean;
}

/**
 * Hands a batch of this instance's changes to its local sockets, each only
 * the changes made after its own join (its state frame had the others): no
 * socket hears of a join twice, and a connection that came and went since
 * is left out. Sockets that predate the batch share one frame; a newcomer
 * within the batch gets the part of it after its own join.
 */
function ownDiffs(view: RoomView, changes: Pending[]): void {
  if (view.locals.size === 0) return;
  const frames = new SuffixFrames(changes);
  for (const [local, seen] of view.locals) {
    const frame = frames.after(seen);
    if (frame !== null) local.send(frame);
  }
}

/**
 * The diff frames of a batch's tails: for a socket that joined at change
 * number `seen` (its state frame had every change up to it), the changes
 * after it. In a burst (distinct people, no one both coming and going) each
 * change is encoded once and a tail is its entries joined; otherwise a tail
 * is encoded on its own.
 */
class SuffixFrames {
  readonly #changes: Pending[];
  /** From this index on, a tail has one entry per person a side and no connection both joined and left. */
  readonly #simpleFrom: number;
  /** For a simple tail from index i: its joins' and leaves' entries, joined. */
  readonly #joins: string[] = [];
  readonly #leaves: string[] = [];
  readonly #frames = new Map<number, string | null>();

  constructor(changes: Pending[]) {
    this.#changes = changes.sort((x, y) => x.seq - y.seq);
    const n = changes.length;
    const people = [new Set<string>(), new Set<string>()];
    const conns = new Set<string>();
    let from = n;
    let joins = "";
    let leaves = "";
    this.#joins[n] = this.#leaves[n] = "";
    for (; from > 0; from--) {
      const { record, joined } = changes[from - 1];
      const side = people[joined ? 0 : 1];
      if (side.has(record.user.id) || conns.has(record.conn)) break;
      side.add(record.user.id);
      conns.add(record.conn);
      const entry = recordEntry(record);
      if (joined) joins = joins ? `${entry},${joins}` : entry;
      else leaves = leaves ? `${entry},${leaves}` : entry;
      this.#joins[from - 1] = joins;
      this.#leaves[from - 1] = leaves;
    }
    this.#simpleFrom = from;
  }

  /** The frame for a socket whose state had every change numbered up to `seen`; null if it has them all. */
  after(seen: number): string | null {
    // The first change the socket has not seen: a binary search on seq.
    let from = 0;
    let to = this.#changes.length;
    while (from < to) {
      const mid = (from + to) >> 1;
      if (this.#changes[mid].seq <= seen) from = mid + 1;
      else to = mid;
    }
    let frame = this.#frames.get(from);
    if (frame === undefined) {
      frame = this.#encode(from);
      this.#frames.set(from, frame);
    }
    return frame;
  }

  #encode(from: number): string | null {
    if (from >= this.#simpleFrom) {
      const joins = this.#joins[from];
      const leaves = this.#leaves[from];
      if (!joins && !leaves) return null;
      // `diffFrame` of the same changes, from their entries.
      return `{"type":"presence","joins":{${joins}},"leaves":{${leaves}}}`;
    }
    const news = this.#changes.slice(from);
    const joined = new Set<string>();
    const left = new Set<string>();
    for (const c of news) (c.joined ? joined : left).add(c.record.conn);
    const joins = news.filter((c) => c.joined && !left.has(c.record.conn));
    const leaves = news.filter((c) => !c.joined && !joined.has(c.record.conn));
    if (joins.length + leaves.length === 0) return null;
    return diffFrame(joins.map((c) => c.record), leaves.map((c) => c.record));
  }
}

/** Changes noted while a reconcile reads the store, so it does not undo them. */
interface InFlight {
  joined: Set<string>;
  left: Set<string>;
}

/** One person's connections in a view, and their cached entry of the state. */
interface Person {
  /** conn → record, in the order they joined. */
  readonly records: Map<string, PresenceRecord>;
  /** {@link entryJson} of this person's records; null until encoded again. */
  json: string | null;
}

/** What this instance knows of one room it serves. */
interface RoomView {
  readonly room: string;
  /** Every connection of the room, on any instance: conn → record. */
  readonly records: Map<string, PresenceRecord>;
  /** The same connections by person (user id), in the order they came. */
  readonly people: Map<string, Person>;
  /** This instance's sockets in the room → the {@link seq} of each one's own join (its state frame holds every change up to it). */
  readonly locals: Map<Channel, number>;
  /** How many of this instance's own changes the view has had (numbers them for {@link ownDiffs}). */
  seq: number;
  /** Joins still on their way in (they keep the view alive). */
  joining: number;
  /** Settles when the first read of the room is done. */
  loaded: Promise<void>;
  /** This view's member of {@link trackerGroup}. */
  readonly channel: Channel;
  /** The shared state, a frame but for its closing brace ({@link stateFrame}); null until a newcomer needs it, or once stale. */
  stateJson: string | null;
  /** This instance's own changes to the view since {@link stateJson} was built, in order. */
  sinceState: Pending[];
  inFlight: InFlight | null;
  /** This instance's presence writes still on their way to the store. */
  readonly writes: Set<Promise<void>>;
  /** This instance's changes waiting to be sent as one diff. */
  readonly joins: Map<string, Pending>;
  readonly leaves: Map<string, Pending>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last diff was sent (ms), the window it waited, and windows in a row that were busy. */
  lastFlushAt: number;
  window: number;
  streak: number;
}

/** Tracks this instance's connections; see the module doc. */
export class PresenceTracker {
  readonly #views = new Map<string, RoomView>();
  /**
   * This instance's connections whose record may be in the store: from the
   * join (before its write) until its leave's delete is committed. A stop
   * deletes every one of them.
   */
  readonly #owned = new Map<string, PresenceRecord>();
  /** The graceful stop, once begun (see {@link stop}); until then the tracker serves. */
  #stopping: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #beats = 0;

  constructor(
    private readonly store: PresenceStore,
    /** This instance's id: the instance part of its channel names. */
    readonly instance: string,
    private readonly layer: ChannelLayer,
    private readonly log: Logger,
    /** How far a shared state frame may lag ({@link STATE_SHARED_MAX_LAG}; 0: every newcomer's state is the view at its join). */
    private readonly stateMaxLag: number = STATE_SHARED_MAX_LAG,
  ) {}

  /** Starts the heartbeat. */
  async start(): Promise<void> {
    await this.store.heartbeat(this.instance);
    this.#timer = setInterval(
      () =>
        this.tick().catch((err) =>
          this.log.warn("presence.tick_failed", { error: String(err) })
        ),
      PRESENCE_BEAT_MS,
    );
  }

  /**
   * One heartbeat; drops connections of instances that stopped beating (and
   * tells local sockets); every {@link PRESENCE_RECONCILE_BEATS} beats,
   * checks each served room against the store.
   */
  async tick(now: number = Date.now()): Promise<void> {
    await this.store.heartbeat(this.instance, now);
    const remote = new Set<string>();
    for (const view of this.#views.values()) {
      for (const r of view.records.values()) {
        if (r.instance !== this.instance) remote.add(r.instance);
      }
    }
    const alive = remote.size
      ? await this.store.liveInstances(remote, now)
      : new Set<string>();
    for (const view of [...this.#views.values()]) {
      const ghosts: PresenceRecord[] = [];
      for (const r of view.records.values()) {
        if (r.instance !== this.instance && !alive.has(r.instance)) {
          ghosts.push(r);
        }
      }
      if (ghosts.length === 0) continue;
      this.#correct(view, [], ghosts);
      await this.store.untrackMany(view.room, ghosts.map((g) => g.conn));
    }
    if (++this.#beats % PRESENCE_RECONCILE_BEATS === 0) {
      for (const view of [...this.#views.values()]) {
        await this.#reconcile(view, true);
      }
    }
  }

  /**
   * Records `channel`'s connection, registers it for the room's diffs, and
   * returns the presence frame to send it after `welcome`, as the parts of
   * one message: the room's state, and the changes since it when it is
   * shared (see {@link stateFrame}).
   */
  async join(
    room: string,
    user: ChatUser,
    channel: Channel,
    since: number = Date.now(),
  ): Promise<string[]> {
    this.#refuseIfStopping();
    const view = this.#viewFor(room);
    const record: PresenceRecord = {
      room,
      conn: channel.name,
      user,
      since,
      instance: this.instance,
    };
    view.joining++;
    try {
      await view.loaded;
    } catch (err) {
      view.joining--;
      await this.#releaseIfUnused(view);
      throw err;
    }
    view.joining--;
    // A stop began meanwhile: it deletes only what it found, so no new record.
    this.#refuseIfStopping();
    // The newcomer does not wait for its own record to be written (a storm's
    // writes queue on the database): the write goes on, and the diff that
    // announces this join waits for it (#flush), so no other instance hears
    // of a join the store does not have. A failed write is written again by
    // the next reconcile (this instance's own connections are authoritative).
    this.#owned.set(record.conn, record);
    const write = this.store.track(record).catch((err) =>
      this.log.warn("presence.track_failed", { room, error: String(err) })
    );
    view.writes.add(write);
    write.finally(() => view.writes.delete(write));
    // One synchronous step: in the view, given the state, and registered for
    // the diffs after its own join.
    added(view, record, true);
    const seq = ++view.seq;
    const frame = stateFrame(view, this.stateMaxLag);
    view.locals.set(channel, seq);
    view.inFlight?.joined.add(channel.name);
    view.joins.set(channel.name, { record, seq, joined: true });
    this.#schedule(view);
    return frame;
  }

  /** Forgets `channel`'s connection and announces it left. */
  async leave(
    room: string,
    user: ChatUser,
    channel: Channel,
    since: number,
  ): Promise<void> {
    const view = this.#views.get(room);
    const conn = channel.name;
    const record = { room, conn, user, since, instance: this.instance };
    // Numbered when it leaves the view: a newcomer meanwhile does not need it.
    let seq = 0;
    if (view) {
      view.locals.delete(channel);
      if (removed(view, conn, true)) seq = ++view.seq;
      view.inFlight?.left.add(conn);
    }
    // Stopping: the stop deletes and announces every connection of this instance.
    if (this.#stopping !== null) return;
    try {
      // Written before it is announced, so a reader never sees a leave the store has not.
      await this.store.untrack(room, conn);
      this.#owned.delete(conn);
    } catch (err) {
      // A stop began meanwhile: it deletes this key (or leaves it to the ghost sweep).
      if (this.#stopping === null) throw err;
    } finally {
      if (view && this.#stopping === null) {
        // A join still in the batch goes out with its leave: someone may have seen it in a state.
        view.leaves.set(conn, { record, seq, joined: false });
        this.#schedule(view);
        await this.#releaseIfUnused(view);
      }
    }
  }

  /** Distinct people online per room, across instances (for the lobby). */
  onlineByRoom(): Promise<Map<string, number>> {
    return this.store.counts(MAX_LOBBY_CONNECTIONS);
  }

  /** Rooms with a local member (for tests and metrics). */
  get localRooms(): number {
    return this.#views.size;
  }

  /**
   * A graceful stop: refuses new joins, deletes every record of this
   * instance's connections from the store in as few writes as it allows
   * ({@link PresenceStore.untrackAll}), retires the instance, then announces
   * the leaves on each room's tracker group (with the leaves still batched),
   * so other instances drop the connections at once. Bounded by
   * {@link PRESENCE_RELEASE_MS} and {@link PRESENCE_ANNOUNCE_MS}: what the
   * store has not deleted by then is left to the ghost sweep. A leave after
   * this began writes nothing. Resolves when done; calling it again returns
   * the same promise.
   *
   * @example
   * ```ts
   * await tracker.stop(); // then close the layer and the store
   * ```
   */
  stop(): Promise<void> {
    return this.#stopping ??= this.#release();
  }

  #refuseIfStopping(): void {
    if (this.#stopping !== null) {
      throw new Error("presence: this instance is stopping");
    }
  }

  /** The stop's work; nothing in its first synchronous step asks whether the tracker is stopping. */
  async #release(): Promise<void> {
    clearInterval(this.#timer);
    const own = [...this.#owned.values()];
    // Per room: every connection of this instance, and the leaves still
    // batched (already deleted, not yet announced). The joins batched are
    // not announced: they are leaving too.
    const leaving = new Map<string, PresenceRecord[]>();
    for (const r of own) {
      let list = leaving.get(r.room);
      if (!list) leaving.set(r.room, list = []);
      list.push(r);
    }
    const views = [...this.#views.values()];
    this.#views.clear();
    for (const view of views) {
      clearTimeout(view.timer);
      view.timer = undefined;
      let list = leaving.get(view.room);
      for (const c of view.leaves.values()) {
        if (!this.#owned.has(c.record.conn)) {
          if (!list) leaving.set(view.room, list = []);
          list.push(c.record);
        }
      }
      view.joins.clear();
      view.leaves.clear();
    }
    try {
      await withTimeout(
        (async () => {
          await this.store.untrackAll(own);
          for (const r of own) this.#owned.delete(r.conn);
          await this.store.retire(this.instance);
        })(),
        PRESENCE_RELEASE_MS,
        "presence release",
      );
    } catch (err) {
      // Left to the ghost sweep; the leaves are announced all the same (the
      // records left over are read as ghosts once the heartbeat lapses).
      this.log.warn("presence.release_failed", {
        connections: own.length,
        error: String(err),
      });
    }
    try {
      await withTimeout(
        Promise.all([
          ...[...leaving].map(([room, records]) =>
            this.layer.groupSend(trackerGroup(room), {
              type: "presence",
              joins: emptyPresence(),
              leaves: asState(records),
            })
          ),
          ...views.map((view) =>
            this.layer.groupDiscard(trackerGroup(view.room), view.channel)
          ),
        ]),
        PRESENCE_ANNOUNCE_MS,
        "presence leaves",
      );
    } catch (err) {
      this.log.warn("presence.announce_failed", {
        rooms: leaving.size,
        error: String(err),
      });
    }
  }

  #viewFor(room: string): RoomView {
    const existing = this.#views.get(room);
    if (existing) return existing;
    const view: RoomView = {
      room,
      records: new Map(),
      people: new Map(),
      locals: new Map(),
      seq: 0,
      joining: 0,
      loaded: Promise.resolve(),
      channel: {
        name: `tracker.${this.instance}.${room}`,
        send: (frame) => this.#receive(view, frame),
      },
      stateJson: null,
      sinceState: [],
      inFlight: null,
      writes: new Set(),
      joins: new Map(),
      leaves: new Map(),
      timer: undefined,
      lastFlushAt: 0,
      window: 0,
      streak: 0,
    };
    this.#views.set(room, view);
    view.loaded = (async () => {
      // Follow first, then read: a diff sent meanwhile is applied either way.
      await this.layer.groupAdd(trackerGroup(room), view.channel);
      await this.#reconcile(view, false);
    })();
    view.loaded.catch(() => {});
    return view;
  }

  /** With no local socket left: send the batch and stop following the room. */
  async #releaseIfUnused(view: RoomView): Promise<void> {
    if (view.locals.size > 0 || view.joining > 0) return;
    if (this.#views.get(view.room) !== view) return;
    this.#views.delete(view.room);
    await this.#flush(view);
    await this.layer.groupDiscard(trackerGroup(view.room), view.channel);
  }

  #schedule(view: RoomView): void {
    if (view.timer !== undefined) return;
    // A change within one window of the last diff: the room is in a storm,
    // and the next window is twice as long (presenceWindowMs).
    view.streak = Date.now() - view.lastFlushAt <= view.window
      ? view.streak + 1
      : 0;
    view.window = presenceWindowMs(view.records.size, view.streak);
    view.timer = setTimeout(() => {
      this.#flush(view).catch((err) =>
        this.log.warn("presence.flush_failed", {
          room: view.room,
          error: String(err),
        })
      );
    }, view.window);
  }

  async #flush(view: RoomView): Promise<void> {
    clearTimeout(view.timer);
    view.timer = undefined;
    if (view.joins.size === 0 && view.leaves.size === 0) return;
    view.lastFlushAt = Date.now();
    const joins = [...view.joins.values()];
    const leaves = [...view.leaves.values()];
    view.joins.clear();
    view.leaves.clear();
    // Announced only once written (see join).
    if (view.writes.size > 0) await Promise.all([...view.writes]);
    ownDiffs(view, [...joins, ...leaves]);
    // Comes back to this instance too, which has it already (see #receive).
    await this.layer.groupSend(trackerGroup(view.room), {
      type: "presence",
      joins: asState(joins.map((c) => c.record)),
      leaves: asState(leaves.map((c) => c.record)),
    });
  }

  /** Applies changes found by this instance (ghosts, a reconcile) and tells only its own sockets. */
  #correct(
    view: RoomView,
    joins: PresenceRecord[],
    leaves: PresenceRecord[],
  ): void {
    const joined = joins.filter((r) => added(view, r));
    const left = leaves.filter((r) => removed(view, r.conn));
    if (view.locals.size === 0 || joined.length + left.length === 0) return;
    const frame = diffFrame(joined, left);
    for (const local of view.locals.keys()) local.send(frame);
  }

  /** A frame on the room's tracker group: a diff from any instance (this one included), or a resync. */
  #receive(view: RoomView, frame: string): void {
    if (frame.startsWith(FramePrefix.resync)) {
      this.#reconcile(view, true).catch((err) =>
        this.log.warn("presence.reconcile_failed", {
          room: view.room,
          error: String(err),
        })
      );
      return;
    }
    if (!frame.startsWith(FramePrefix.presence)) return;
    let diff: Partial<PresenceDiff>;
    try {
      diff = JSON.parse(frame);
    } catch {
      return;
    }
    // What changed the view goes to local sockets: they have the rest (this
    // instance's own changes, sent by #flush; what a reconcile found first).
    const joins: PresenceRecord[] = [];
    const leaves: PresenceRecord[] = [];
    let unchanged = 0;
    const sides = [[diff.joins, true], [diff.leaves, false]] as const;
    for (const [side, joining] of sides) {
      if (!side || typeof side !== "object") continue;
      for (const entry of Object.values(side)) {
        for (const meta of entry?.metas ?? []) {
          const instance = channelInstance(String(meta?.conn));
          // This instance's own connections are known first-hand.
          if (instance === null || instance === this.instance) {
            unchanged++;
            continue;
          }
          const record = {
            room: view.room,
            conn: meta.conn,
            user: entry.user,
            since: meta.since,
            instance,
          };
          if (joining) {
            view.inFlight?.joined.add(meta.conn);
            // (A join without a user id would break the state's encoding.)
            if (typeof entry.user?.id === "string" && added(view, record)) {
              joins.push(record);
            } else unchanged++;
          } else {
            view.inFlight?.left.add(meta.conn);
            const gone = removed(view, meta.conn);
            if (gone) leaves.push(gone);
            else unchanged++;
          }
        }
      }
    }
    if (joins.length + leaves.length === 0) return;
    const news = unchanged === 0 ? frame : diffFrame(joins, leaves);
    for (const local of view.locals.keys()) local.send(news);
  }

  /**
   * Makes the view match the store (live instances only); corrections go to
   * local sockets, which missed the same frames the view did (on the first
   * read there are none yet). A `repair` that finds differences is logged.
   * This instance's own connections are authoritative: a missing key of one
   * is written again.
   */
  async #reconcile(view: RoomView, repair: boolean): Promise<void> {
    if (view.inFlight) return;
    const inFlight: InFlight = view.inFlight = {
      joined: new Set(),
      left: new Set(),
    };
    try {
      const live = await this.store.room(view.room);
      const stored = new Set<string>();
      const joins: PresenceRecord[] = [];
      const leaves: PresenceRecord[] = [];
      const rewrite: PresenceRecord[] = [];
      for (const r of live) {
        stored.add(r.conn);
        if (
          r.instance === this.instance || view.records.has(r.conn) ||
          inFlight.left.has(r.conn)
        ) continue;
        joins.push(r);
      }
      for (const [conn, r] of view.records) {
        if (stored.has(conn) || inFlight.joined.has(conn)) continue;
        if (r.instance === this.instance) rewrite.push(r);
        else leaves.push(r);
      }
      if (joins.length || leaves.length) {
        if (repair) {
          this.log.info("presence.reconciled", {
            room: view.room,
            joins: joins.length,
            leaves: leaves.length,
          });
        }
        this.#correct(view, joins, leaves);
      }
      // (Not while stopping: the stop deletes them.)
      for (const r of rewrite) {
        if (this.#stopping === null) await this.store.track(r);
      }
    } finally {
      view.inFlight = null;
    }
  }
}
