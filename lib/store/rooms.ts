/**
 * Rooms people run, on Deno KV: records, roles, mutes, bans, slow-mode
 * slots, reports and the audit log. Keys:
 *
 * ```
 * ["room_info", room]                          RoomInfo
 * ["room_member", room, userId]           Membership
 * ["room_mute", room, userId]             Sanction (expires after `until`)
 * ["room_ban", room, "user", userId]      Sanction
 * ["room_ban", room, "addr", address]     the same Sanction, for a guest's address
 * ["room_rules", room]                   true, rewritten with every write of the four above
 * ["room_slow", room, userId]             {until} (slow mode)
 * ["room_report", room, target, userId]   MessageReport
 * ["room_audit", room, id]                AuditEntry
 * ```
 *
 * Who may do what in a room — `access`, asked by every socket joining and
 * every post — is answered from the room's rules held in memory
 * (`room_rules.ts`): one small read of the room's record and rules version,
 * shared by every caller asking about the room at the same time and begun
 * after each asked, checks that the view held is still the room's. A view
 * is (re)loaded by listing the room's rows when the version moved on (one
 * load per room at a time); a room with too many rows, or written to during
 * every attempt at a load, is answered by reading the person's rows instead.
 *
 * @module
 */

import type {
  AuditEntry,
  Membership,
  MessageReport,
  Reactor,
  RoomInfo,
  RoomSettings,
  Sanction,
  Standing,
} from "../chat/types.ts";
import { KeyedReads, sharedReadTurns } from "../batch.ts";
import { LruMap } from "../lru.ts";
import { getManyChunked, isBusy } from "./kv.ts";
import {
  addRow,
  emptyRules,
  inForce,
  personIn,
  type RulesView,
  standingOf,
} from "./room_rules.ts";
import type { AuditPage, CreatedRoom, RoomAccess, RoomStore } from "./types.ts";

/**
 * A timed sanction's key outlives its `until` by this much before KV may
 * drop it (reads compare `until` themselves: KV expiry is lazy, not exact).
 */
const EXPIRY_SLACK_MS = 60_000;

/** Attempts of a check-and-set before giving up (another writer kept winning). */
const MAX_ATTEMPTS = 10;
/**
 * Attempts of a write that finds the KV file locked by another connection
 * (workers or processes on one file), a few ms apart: rare, short waits.
 */
const BUSY_ATTEMPTS = 20;

/** Runs `write`, again after a short random pause while the KV file is locked. */
async function unlocked<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isBusy(err) || attempt >= BUSY_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * attempt));
    }
  }
}

function expiry(until: number | null, now: number): { expireIn?: number } {
  return until === null
    ? {}
    : { expireIn: Math.max(1, until - now) + EXPIRY_SLACK_MS };
}

/**
 * Rows (memberships, mutes, bans) a room may have for its rules to be held
 * in memory; past this the room is answered by reading the person's rows
 * (as before views), and a load lists at most this many rows plus one to
 * find that out. A sanction row holds up to a few hundred bytes (its reason
 * is up to `MAX_REASON_CHARS`), so the worst case of every held room full of
 * long-reasoned bans is about 200,000 rows, 150 MB — each row put there by a
 * moderator's write; rooms usually have a handful.
 */
export const MAX_RULES_VIEW_ENTRIES = 200;
/**
 * Rooms whose rules are held at once, the least recently asked forgotten
 * first: more than one process' busy rooms (every post and every join asks,
 * and a forgotten room costs a load at its next ask).
 */
export const MAX_RULES_VIEWS = 1_000;
/**
 * Longest a room's rules view answers without being listed again, ms, even
 * while its version stays: a write that did not move the version (a process
 * of an older release during a rolling deploy, an edit of the database by
 * hand) is seen within this. One load (three short lists) per busy room a
 * minute.
 */
export const MAX_RULES_VIEW_AGE_MS = 60_000;
/**
 * Loads of a room's rules tried while writes to the room keep moving its
 * version during the listing; then that access reads the person's rows.
 */
const MAX_LOAD_ATTEMPTS = 3;

/**
 * The key whose versionstamp is the version of a room's rules: set in the
 * same atomic operation as every write of the room's `room_info`,
 * `room_member`, `room_mute` or `room_ban` keys (its value means nothing). A
 * room whose rules were never written since it came has none: version null.
 */
function rulesKey(room: string): Deno.KvKey {
  return ["room_rules", room];
}

/** `op` with the room's rules version moved on (see {@link rulesKey}). */
function withNewRules(
  op: Deno.AtomicOperation,
  room: string,
): Deno.AtomicOperation {
  return op.set(rulesKey(room), true);
}

/** A sortable audit id: the time, zero-padded, then randomness for ties. */
function auditId(ts: number): string {
  const rand = crypto.getRandomValues(new Uint8Array(4));
  return `${String(ts).padStart(15, "0")}-${
    Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/**
 * A room's rules as held: the view of every row at `version` (exactly the
 * room's rows while its version stays), or that the room had more rows than
 * {@link MAX_RULES_VIEW_ENTRIES} at `version` (not held).
 */
type HeldRules =
  | {
    kind: "view";
    version: string | null;
    view: RulesView;
    /** When its load began (the store's clock), for {@link MAX_RULES_VIEW_AGE_MS}. */
    loadedAt: number;
  }
  | { kind: "large"; version: string | null };

/** What a load found: the room's record and rules read together, or no settled version. */
type RulesLoad =
  | { kind: "held"; info: RoomInfo | null; rules: HeldRules }
  | { kind: "unsettled" };

/** {@link RoomStore} on Deno KV (keys in the module's documentation). */
export class KvRoomStore implements RoomStore {
  /** Rules of the rooms asked about lately (`access`). */
  readonly #rules = new LruMap<string, HeldRules>(MAX_RULES_VIEWS);
  /** Reads of a room's record and rules version, shared by callers asking together. */
  readonly #heads = new KeyedReads(sharedReadTurns);
  /** Loads of a room's rules: one per room at a time. */
  readonly #loads = new KeyedReads(sharedReadTurns);
  /** The load of each room in flight, for callers whose version it may match. */
  readonly #loading = new Map<string, Promise<RulesLoad>>();

  /**
   * `clock` tells the age of the rules views (tests move it); sanctions are
   * judged at each call's own `now`.
   */
  constructor(
    private readonly kv: Deno.Kv,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(room: string): Promise<RoomInfo | null> {
    return (await this.kv.get<RoomInfo>(["room_info", room])).value;
  }

  async getMany(rooms: readonly string[]): Promise<(RoomInfo | null)[]> {
    const entries = await getManyChunked(
      this.kv,
      rooms.map((room) => ["room_info", room]),
    );
    return entries.map((e) => e.value as RoomInfo | null);
  }

  create(
    room: string,
    owner: Reactor | null,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<CreatedRoom> {
    return unlocked(() => this.#createOnce(room, owner, settings, now));
  }

  async #createOnce(
    room: string,
    owner: Reactor | null,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<CreatedRoom> {
    const key = ["room_info", room];
    const info: RoomInfo = {
      room,
      owner,
      settings,
      created: now,
      updated: now,
    };
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const done = await withNewRules(
        this.kv.atomic().check({ key, versionstamp: null }).set(key, info),
        room,
      ).commit();
      if (done.ok) return { info, created: true };
      const existing = await this.get(room);
      if (existing) return { info: existing, created: false };
    }
    throw new Error("room create: too much contention");
  }

  claim(
    room: string,
    owner: Reactor,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<RoomInfo | null> {
    return unlocked(() => this.#claimOnce(room, owner, settings, now));
  }

  async #claimOnce(
    room: string,
    owner: Reactor,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<RoomInfo | null> {
    const key = ["room_info", room];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<RoomInfo>(key);
      if (entry.value?.owner) {
        return entry.value.owner.id === owner.id ? entry.value : null;
      }
      const info: RoomInfo = entry.value
        ? { ...entry.value, owner, updated: now }
        : { room, owner, settings, created: now, updated: now };
      const done = await withNewRules(
        this.kv.atomic().check(entry).set(key, info)
          .delete(["room_member", room, owner.id]),
        room,
      ).commit();
      if (done.ok) return info;
    }
    throw new Error("room claim: too much contention");
  }

  updateSettings(
    room: string,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<RoomInfo> {
    return unlocked(() => this.#updateSettingsOnce(room, settings, now));
  }

  async #updateSettingsOnce(
    room: string,
    settings: RoomSettings,
    now = Date.now(),
  ): Promise<RoomInfo> {
    const key = ["room_info", room];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<RoomInfo>(key);
      const info: RoomInfo = entry.value
        ? { ...entry.value, settings, updated: now }
        : { room, owner: null, settings, created: now, updated: now };
      const done = await withNewRules(
        this.kv.atomic().check(entry).set(key, info),
        room,
      ).commit();
      if (done.ok) return info;
    }
    throw new Error("room settings: too much contention");
  }

  transfer(
    room: string,
    to: Reactor,
    now = Date.now(),
  ): Promise<RoomInfo | null> {
    return unlocked(() => this.#transferOnce(room, to, now));
  }

  async #transferOnce(
    room: string,
    to: Reactor,
    now = Date.now(),
  ): Promise<RoomInfo | null> {
    const key = ["room_info", room];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<RoomInfo>(key);
      if (!entry.value) return null;
      const previous = entry.value.owner;
      const info: RoomInfo = { ...entry.value, owner: to, updated: now };
      const op = withNewRules(
        this.kv.atomic().check(entry).set(key, info)
          .delete(["room_member", room, to.id]),
        room,
      );
      if (previous && previous.id !== to.id) {
        const membership: Membership = {
          user: previous,
          role: "moderator",
          since: now,
        };
        op.set(["room_member", room, previous.id], membership);
      }
      if ((await op.commit()).ok) return info;
    }
    throw new Error("room transfer: too much contention");
  }

  setRole(
    room: string,
    user: Reactor,
    role: Membership["role"] | null,
    now = Date.now(),
  ): Promise<void> {
    return unlocked(() => this.#setRoleOnce(room, user, role, now));
  }

  async #setRoleOnce(
    room: string,
    user: Reactor,
    role: Membership["role"] | null,
    now = Date.now(),
  ): Promise<void> {
    const key = ["room_member", room, user.id];
    const op = this.kv.atomic();
    if (role === null) op.delete(key);
    else {
      const membership: Membership = { user, role, since: now };
      op.set(key, membership);
    }
    await withNewRules(op, room).commit();
  }

  async members(room: string, limit: number): Promise<Membership[]> {
    const out: Membership[] = [];
    for await (
      const entry of this.kv.list<Membership>({
        prefix: ["room_member", room],
      }, { limit })
    ) out.push(entry.value);
    return out;
  }

  async standing(
    room: string,
    userId: string,
    address?: string,
    now = Date.now(),
  ): Promise<Standing> {
    return (await this.access(room, userId, address, now)).standing;
  }

  async access(
    room: string,
    userId: string,
    address?: string,
    now = Date.now(),
  ): Promise<RoomAccess> {
    const held = this.#rules.get(room);
    if (held?.kind === "large") {
      return await this.#accessAlone(room, userId, address, now, held);
    }
    // Begun after this call, shared with every caller asking meanwhile.
    const [info, version] = await this.#heads.read(room, async () => {
      const [info, rules] = await this.kv.getMany<[RoomInfo, unknown]>([
        ["room_info", room],
        rulesKey(room),
      ]);
      return [info.value, rules.versionstamp] as const;
    });
    const known = await this.#rulesAt(room, version);
    if (known) {
      return await this.#answer(room, info, known, userId, address, now);
    }
    // Begun after this call too: its record and rules are read together.
    const loaded = await this.#loads.read(room, () => this.#load(room));
    return loaded.kind === "held"
      ? await this.#answer(
        room,
        loaded.info,
        loaded.rules,
        userId,
        address,
        now,
      )
      : await this.#accessAlone(room, userId, address, now);
  }

  /**
   * The room's rules exactly as at `version`, if held or being loaded at it
   * (the view of a version is the room's rows while the version stays: any
   * rule written since moved it), else null.
   */
  async #rulesAt(
    room: string,
    version: string | null,
  ): Promise<HeldRules | null> {
    const held = this.#rules.get(room);
    if (held?.version === version && !this.#stale(held)) {
      this.#rules.set(room, held); // the most recently asked
      return held;
    }
    const pending = await this.#loading.get(room)?.catch(() => null);
    return pending?.kind === "held" && pending.rules.version === version
      ? pending.rules
      : null;
  }

  /** Whether `held` is a view loaded longer ago than {@link MAX_RULES_VIEW_AGE_MS}. */
  #stale(held: HeldRules): boolean {
    return held.kind === "view" &&
      this.clock() - held.loadedAt >= MAX_RULES_VIEW_AGE_MS;
  }

  /** `access` by `rules` read with `info` (a room too large to hold reads the person's rows). */
  async #answer(
    room: string,
    info: RoomInfo | null,
    rules: HeldRules,
    userId: string,
    address: string | undefined,
    now: number,
  ): Promise<RoomAccess> {
    if (rules.kind === "large") {
      return await this.#accessAlone(room, userId, address, now);
    }
    const person = personIn(rules.view, userId, address);
    return { info, standing: standingOf(info, userId, person, now) };
  }

  /**
   * `access` from one read of the person's rows (and the room's record and
   * rules version). When `held` says the room is too large to hold and the
   * version moved on since, that is forgotten: the next access loads again.
   */
  async #accessAlone(
    room: string,
    userId: string,
    address: string | undefined,
    now: number,
    held?: HeldRules,
  ): Promise<RoomAccess> {
    const keys: Deno.KvKey[] = [
      ["room_info", room],
      rulesKey(room),
      ["room_member", room, userId],
      ["room_mute", room, userId],
      ["room_ban", room, "user", userId],
    ];
    if (address) keys.push(["room_ban", room, "addr", address]);
    const [info, rules, member, mute, ban, addressBan] = await this.kv.getMany<
      unknown[]
    >(keys);
    if (held && this.#rules.get(room) === held) {
      if (rules.versionstamp === held.version) this.#rules.set(room, held);
      else this.#rules.delete(room);
    }
    const record = info.value as RoomInfo | null;
    return {
      info: record,
      standing: standingOf(record, userId, {
        role: (member.value as Membership | null)?.role ?? null,
        mute: mute.value as Sanction | null,
        ban: ban.value as Sanction | null,
        addressBan: (addressBan?.value ?? null) as Sanction | null,
      }, now),
    };
  }

  /** Loads the room's rules (held for the next callers), seen by callers meanwhile. */
  #load(room: string): Promise<RulesLoad> {
    const loading = this.#readRules(room);
    this.#loading.set(room, loading);
    const done = () => {
      if (this.#loading.get(room) === loading) this.#loading.delete(room);
    };
    loading.then(done, done);
    return loading;
  }

  /**
   * Reads the room's record and rules version, lists its rows, and reads
   * the version again: unchanged, no rule was written meanwhile, so the view
   * is exactly the room's at that version (tried again if it moved).
   */
  async #readRules(room: string): Promise<RulesLoad> {
    const prefixes: Deno.KvKey[] = [
      ["room_member", room],
      ["room_mute", room],
      ["room_ban", room],
    ];
    for (let attempt = 0; attempt < MAX_LOAD_ATTEMPTS; attempt++) {
      const loadedAt = this.clock();
      const [info, before] = await this.kv.getMany<[RoomInfo, unknown]>([
        ["room_info", room],
        rulesKey(room),
      ]);
      const version = before.versionstamp;
      const view = emptyRules();
      let rows = 0;
      for (const prefix of prefixes) {
        const limit = MAX_RULES_VIEW_ENTRIES + 1 - rows;
        for await (const entry of this.kv.list({ prefix }, { limit })) {
          addRow(view, entry.key, entry.value);
          rows++;
        }
        if (rows > MAX_RULES_VIEW_ENTRIES) break;
      }
      if (rows > MAX_RULES_VIEW_ENTRIES) {
        // Answered from each person's rows until the version moves on.
        const rules: HeldRules = { kind: "large", version };
        this.#rules.set(room, rules);
        return { kind: "held", info: info.value, rules };
      }
      const after = await this.kv.get(rulesKey(room));
      if (after.versionstamp !== version) continue;
      const rules: HeldRules = { kind: "view", version, view, loadedAt };
      this.#rules.set(room, rules);
      return { kind: "held", info: info.value, rules };
    }
    return { kind: "unsettled" };
  }

  sanction(room: string, sanction: Sanction): Promise<void> {
    return unlocked(() => this.#sanctionOnce(room, sanction));
  }

  async #sanctionOnce(room: string, sanction: Sanction): Promise<void> {
    const options = expiry(sanction.until, sanction.ts);
    if (sanction.kind === "mute") {
      await withNewRules(
        this.kv.atomic().set(
          ["room_mute", room, sanction.user.id],
          sanction,
          options,
        ),
        room,
      ).commit();
      return;
    }
    const op = this.kv.atomic().set(
      ["room_ban", room, "user", sanction.user.id],
      sanction,
      options,
    );
    if (sanction.address) {
      op.set(["room_ban", room, "addr", sanction.address], sanction, options);
    }
    await withNewRules(op, room).commit();
  }

  lift(
    room: string,
    kind: Sanction["kind"],
    userId: string,
  ): Promise<boolean> {
    return unlocked(() => this.#liftOnce(room, kind, userId));
  }

  async #liftOnce(
    room: string,
    kind: Sanction["kind"],
    userId: string,
  ): Promise<boolean> {
    const key = kind === "mute"
      ? ["room_mute", room, userId]
      : ["room_ban", room, "user", userId];
    const entry = await this.kv.get<Sanction>(key);
    if (!entry.value) return false;
    const op = this.kv.atomic().delete(key);
    if (entry.value.address) {
      const addressKey = ["room_ban", room, "addr", entry.value.address];
      const held = await this.kv.get<Sanction>(addressKey);
      // Only the address's ban that came with this one (a later ban of another guest keeps it).
      if (held.value?.user.id === userId) op.delete(addressKey);
    }
    await withNewRules(op, room).commit();
    return true;
  }

  async sanctions(
    room: string,
    kind: Sanction["kind"],
    limit: number,
    now = Date.now(),
  ): Promise<Sanction[]> {
    const prefix = kind === "mute"
      ? ["room_mute", room]
      : ["room_ban", room, "user"];
    const out: Sanction[] = [];
    for await (const entry of this.kv.list<Sanction>({ prefix })) {
      if (inForce(entry.value, now)) out.push(entry.value);
      if (out.length >= limit) break;
    }
    return out;
  }

  takeSlot(
    room: string,
    userId: string,
    seconds: number,
    now = Date.now(),
  ): Promise<number> {
    return unlocked(() => this.#takeSlotOnce(room, userId, seconds, now));
  }

  async #takeSlotOnce(
    room: string,
    userId: string,
    seconds: number,
    now = Date.now(),
  ): Promise<number> {
    if (seconds <= 0) return 0;
    const key = ["room_slow", room, userId];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<{ until: number }>(key);
      if (entry.value && entry.value.until > now) {
        return entry.value.until - now;
      }
      const until = now + seconds * 1000;
      const done = await this.kv.atomic().check(entry)
        .set(key, { until }, expiry(until, now)).commit();
      if (done.ok) return 0;
    }
    throw new Error("slow mode: too much contention");
  }

  report(room: string, report: MessageReport): Promise<void> {
    return unlocked(() => this.#reportOnce(room, report));
  }

  async #reportOnce(room: string, report: MessageReport): Promise<void> {
    await this.kv.set(
      ["room_report", room, report.target, report.reporter.id],
      report,
    );
  }

  async reports(room: string, limit: number): Promise<MessageReport[]> {
    const out: MessageReport[] = [];
    for await (
      const entry of this.kv.list<MessageReport>({
        prefix: ["room_report", room],
      }, { limit })
    ) out.push(entry.value);
    return out;
  }

  dismissReports(room: string, target: number): Promise<number> {
    return unlocked(() => this.#dismissReportsOnce(room, target));
  }

  async #dismissReportsOnce(room: string, target: number): Promise<number> {
    const keys: Deno.KvKey[] = [];
    for await (
      const entry of this.kv.list({ prefix: ["room_report", room, target] })
    ) keys.push(entry.key);
    for (const key of keys) await this.kv.delete(key);
    return keys.length;
  }

  audit(
    room: string,
    entry: Omit<AuditEntry, "id">,
  ): Promise<AuditEntry> {
    return unlocked(() => this.#auditOnce(room, entry));
  }

  async #auditOnce(
    room: string,
    entry: Omit<AuditEntry, "id">,
  ): Promise<AuditEntry> {
    const stored: AuditEntry = { id: auditId(entry.ts), ...entry };
    await this.kv.set(["room_audit", room, stored.id], stored);
    return stored;
  }

  async auditPage(
    room: string,
    before: string | undefined,
    limit: number,
  ): Promise<AuditPage> {
    const prefix = ["room_audit", room];
    const selector = before === undefined
      ? { prefix }
      : { prefix, end: [...prefix, before] };
    const entries: AuditEntry[] = [];
    for await (
      const entry of this.kv.list<AuditEntry>(selector, {
        reverse: true,
        limit: limit + 1,
      })
    ) entries.push(entry.value);
    const more = entries.length > limit;
    if (more) entries.length = limit;
    return more ? { entries, next: entries.at(-1)!.id } : { entries };
  }
}
