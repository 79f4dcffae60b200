/**
 * Rooms people run: the rules (who may post, who may moderate whom) and the
 * actions (settings, roles, mute, kick, ban, reports), the same for a socket
 * frame and an HTTP request. Every action is checked against the actor's
 * role read from the store (so it holds on every instance at once), stored,
 * written to the room's audit log, and then told to the room's group: a
 * kick or ban closes the person's sockets on every instance (a `control`
 * frame each connection acts on), a mute reaches their client as
 * `standing`, settings reach everyone as `room`.
 *
 * @module
 */

import { CloseCode } from "../shared.ts";
import type { Metrics } from "../metrics.ts";
import type { Budgets } from "./budgets.ts";
import { takeAll } from "./rate_limit.ts";
import type { AuditPage, MessageStore, RoomStore } from "../store/types.ts";
import type { ChannelLayer } from "./layer.ts";
import { heldRole } from "./access.ts";
import { isDirectRoom } from "./names.ts";
import {
  moderates,
  type ModerationRequest,
  rateLimited,
  type Refusal,
  type ReportRequest,
  type StandingView,
} from "./protocol.ts";
import type {
  AuditEntry,
  ChatUser,
  Membership,
  MessageReport,
  Reactor,
  RoomInfo,
  RoomRole,
  RoomSettings,
  Sanction,
  Standing,
} from "./types.ts";

/** What a room without a record has: public, anyone may post, no slow mode. */
export const DEFAULT_ROOM_SETTINGS: Readonly<RoomSettings> = Object.freeze({
  title: "",
  topic: "",
  visibility: "public",
  postPolicy: "everyone",
  slowModeSeconds: 0,
  guestsAllowed: true,
});

/** A mute with no duration given lasts this long (Discord's shortest common timeout). */
export const DEFAULT_MUTE_MINUTES = 10;
/** Open reports counted and listed at most: a badge says "100+" past it, and a page stays small. */
export const MAX_REPORTS_LISTED = 100;
/** Memberships listed at most in the panel (one read). */
export const MAX_MEMBERS_LISTED = 200;
/** Largest page of the audit log. */
export const MAX_AUDIT_PAGE = 100;

/** The record of `room`, or the ownerless default a room without one has. */
export function roomInfoOf(room: string, info: RoomInfo | null): RoomInfo {
  return info ??
    {
      room,
      owner: null,
      settings: { ...DEFAULT_ROOM_SETTINGS },
      created: 0,
      updated: 0,
    };
}

const RANK: Record<RoomRole, number> = { owner: 3, moderator: 2, member: 1 };

/**
 * Whether someone with `actor`'s role may act on someone with `subject`'s:
 * only on a lower role (a moderator cannot mute another moderator or the
 * owner; the owner can mute a moderator).
 */
export function outranks(actor: RoomRole | null, subject: RoomRole | null) {
  return (actor ? RANK[actor] : 0) > (subject ? RANK[subject] : 0);
}

/** A person's standing as their client is told it. */
export function standingView(standing: Standing): StandingView {
  const { mute } = standing;
  return {
    role: standing.role,
    mute: mute
      ? { until: mute.until, ...(mute.reason ? { reason: mute.reason } : {}) }
      : null,
  };
}

/**
 * Why `user` may not post in a room with `settings` where they stand as
 * `standing`, or null when they may (pure: the posting path and the page ask it).
 * Order: banned, guests not allowed, signed-in only, members only, muted.
 *
 * @example
 * ```ts
 * roomRefusal(guest, { ...DEFAULT_ROOM_SETTINGS, postPolicy: "signed_in" }, none)?.code; // "sign_in_required"
 * ```
 */
export function roomRefusal(
  user: ChatUser,
  settings: RoomSettings,
  standing: Pick<Standing, "role" | "ban"> & {
    mute: Pick<Sanction, "until" | "reason"> | null;
  },
): Refusal | null {
  if (standing.ban) {
    return {
      ok: false,
      code: "banned",
      message: "You are banned from this room.",
    };
  }
  const guest = user.kind === "guest";
  if (
    guest && (!settings.guestsAllowed || settings.postPolicy !== "everyone")
  ) {
    return {
      ok: false,
      code: "sign_in_required",
      message: "Sign in with Google to chat in this room.",
    };
  }
  if (settings.postPolicy === "members" && standing.role === null) {
    return {
      ok: false,
      code: "members_only",
      message: "Only members of this room can post here.",
    };
  }
  const { mute } = standing;
  if (mute) {
    const why = mute.reason ? ` (${mute.reason})` : "";
    return {
      ok: false,
      code: "muted",
      message: mute.until === null
        ? `A moderator muted you in this room${why}.`
        : `A moderator muted you in this room${why} until ${
          new Date(mute.until).toISOString()
        }.`,
      until: mute.until,
    };
  }
  return null;
}

/** What the actions need from the app. */
export interface ModerationDeps {
  rooms: RoomStore;
  store: MessageStore;
  layer: ChannelLayer;
  /** Bind a guest's ban to their address too (per-address limits are on: `GUESTS_PER_IP_PER_HOUR` > 0). */
  bindGuestAddresses: boolean;
}

/** Who acts, where, from which address. */
export interface Actor {
  room: string;
  user: ChatUser;
  address: string;
}

/** An action's outcome: its value, or why it was refused. */
export type Outcome<T> = { ok: true; value: T } | Refusal;

/**
 * Takes a token for one action (a moderation, a report, a settings or role
 * change) from the person's and the address's message budgets, the ones a
 * message spends: nobody turns reports or mutes into a flood of store
 * writes. Synchronous, so a socket's refusals keep the frames' order.
 *
 * @example
 * ```ts
 * const refused = spendAction(services, actor);
 * if (refused) return refusalResponse(c, refused);
 * ```
 */
export function spendAction(
  deps: { budgets: Budgets; metrics: Metrics },
  actor: Actor,
): Refusal | null {
  const wait = takeAll([
    [deps.budgets.messages, actor.user.id],
    [deps.budgets.messagesPerAddress, actor.address],
  ]);
  if (wait === 0) return null;
  deps.metrics.drop("rate_limited");
  return rateLimited(wait);
}

const FORBIDDEN: Refusal = {
  ok: false,
  code: "forbidden",
  message: "Only this room's moderators can do that.",
};
const OWNER_ONLY: Refusal = {
  ok: false,
  code: "forbidden",
  message: "Only this room's owner can do that.",
};

function reactor(user: Reactor): Reactor {
  return { id: user.id, name: user.name };
}

async function roleOf(deps: ModerationDeps, actor: Actor) {
  return (await deps.rooms.access(actor.room, actor.user.id, actor.address));
}

async function record(
  deps: ModerationDeps,
  actor: Actor,
  entry: Omit<AuditEntry, "id" | "ts" | "actor">,
): Promise<AuditEntry> {
  return await deps.rooms.audit(actor.room, {
    ts: Date.now(),
    actor: reactor(actor.user),
    ...entry,
  });
}

/**
 * Tells `userId`'s sockets in the room their new standing (on every
 * instance): their posts are checked against it (`KnownAccess` in post.ts),
 * so every change of role, mute or membership is told.
 *
 * @example
 * ```ts
 * await rooms.setRole(room, member, "member");
 * await tellStanding(services, room, member.id);
 * ```
 */
export async function tellStanding(
  deps: ModerationDeps,
  room: string,
  userId: string,
): Promise<void> {
  const standing = await deps.rooms.standing(room, userId);
  await deps.layer.groupSend(room, {
    type: "control",
    op: "standing",
    userId,
    standing: standingView(standing),
  });
}

/**
 * Mutes, unmutes, kicks, bans or unbans `request.user` in the actor's room.
 * The actor must moderate and outrank the person. A kick or ban closes the
 * person's sockets on every instance (4003, 4004); a ban is stored first, so
 * a socket that joins meanwhile is refused when it reads it.
 *
 * @example
 * ```ts
 * await moderate(services, { room, user, address }, { action: "mute", user: gus, minutes: 10 });
 * ```
 */
export async function moderate(
  deps: ModerationDeps,
  actor: Actor,
  request: ModerationRequest,
): Promise<Outcome<AuditEntry>> {
  const { room } = actor;
  const [mine, theirs] = await Promise.all([
    roleOf(deps, actor),
    deps.rooms.standing(room, request.user.id),
  ]);
  if (!moderates(mine.standing.role)) return FORBIDDEN;
  if (request.user.id === actor.user.id) {
    return {
      ok: false,
      code: "forbidden",
      message: "You cannot do that to yourself.",
    };
  }
  if (!outranks(mine.standing.role, heldRole(theirs))) {
    return {
      ok: false,
      code: "forbidden",
      message: "You can only act on people below your role in this room.",
    };
  }
  const now = Date.now();
  const subject = reactor(request.user);
  const reason = request.reason ? { reason: request.reason } : {};
  switch (request.action) {
    case "mute":
    case "ban": {
      const minutes = request.minutes ??
        (request.action === "mute" ? DEFAULT_MUTE_MINUTES : undefined);
      const sanction: Sanction = {
        kind: request.action,
        user: subject,
        until: minutes === undefined ? null : now + minutes * 60_000,
        by: reactor(actor.user),
        ts: now,
        ...reason,
      };
      await deps.rooms.sanction(room, sanction);
      const entry = await record(deps, actor, {
        action: request.action,
        subject,
        ...reason,
        detail: minutes === undefined ? "for good" : `${minutes} min`,
      });
      if (request.action === "mute") {
        await tellStanding(deps, room, subject.id);
      } else {
        await deps.layer.groupSend(room, {
          type: "control",
          op: "close",
          userId: subject.id,
          code: CloseCode.banned,
          reason: "banned from this room",
          ...(deps.bindGuestAddresses && subject.id.startsWith("guest:")
            ? { ban: sanction }
            : {}),
        });
      }
      return { ok: true, value: entry };
    }
    case "unmute":
    case "unban": {
      const kind = request.action === "unmute" ? "mute" : "ban";
      if (!(await deps.rooms.lift(room, kind, subject.id))) {
        return {
          ok: false,
          code: "not_found",
          message: `${subject.name} is not ${
            kind === "mute" ? "muted" : "banned"
          } here.`,
        };
      }
      const entry = await record(deps, actor, {
        action: request.action,
        subject,
        ...reason,
      });
      if (kind === "mute") await tellStanding(deps, room, subject.id);
      return { ok: true, value: entry };
    }
    case "kick": {
      const entry = await record(deps, actor, {
        action: "kick",
        subject,
        ...reason,
      });
      await deps.layer.groupSend(room, {
        type: "control",
        op: "close",
        userId: subject.id,
        code: CloseCode.kicked,
        reason: "removed by a moderator",
      });
      return { ok: true, value: entry };
    }
    default: {
      const _exhaustive: never = request.action;
      throw new Error(`unknown action ${_exhaustive}`);
    }
  }
}

/** Tells the room's moderators how many reports are open. */
async function tellReports(deps: ModerationDeps, room: string) {
  const count = (await deps.rooms.reports(room, MAX_REPORTS_LISTED)).length;
  await deps.layer.groupSend(room, { type: "reports", count });
  return count;
}

/**
 * Reports message `request.target` to the room's moderators (anyone who may
 * enter may report; one report per person and message).
 */
export async function report(
  deps: ModerationDeps,
  actor: Actor,
  request: ReportRequest,
): Promise<Outcome<number>> {
  const access = await roleOf(deps, actor);
  if (access.standing.ban) {
    return {
      ok: false,
      code: "banned",
      message: "You are banned from this room.",
    };
  }
  const message = await deps.store.get(actor.room, request.target);
  if (!message || message.deleted) {
    return {
      ok: false,
      code: "not_found",
      message: "That message does not exist.",
    };
  }
  const entry: MessageReport = {
    target: request.target,
    reporter: reactor(actor.user),
    ts: Date.now(),
    ...(request.reason ? { reason: request.reason } : {}),
  };
  await deps.rooms.report(actor.room, entry);
  return { ok: true, value: await tellReports(deps, actor.room) };
}

/** The open reports, for a moderator. */
export async function listReports(
  deps: ModerationDeps,
  actor: Actor,
): Promise<Outcome<MessageReport[]>> {
  const access = await roleOf(deps, actor);
  if (!moderates(access.standing.role)) return FORBIDDEN;
  return {
    ok: true,
    value: await deps.rooms.reports(actor.room, MAX_REPORTS_LISTED),
  };
}

/**
 * Closes the reports of message `target` (after acting on it, or as
 * dismissed: `dismiss` writes the audit entry).
 */
export async function closeReports(
  deps: ModerationDeps,
  actor: Actor,
  target: number,
  dismiss: boolean,
): Promise<Outcome<number>> {
  const access = await roleOf(deps, actor);
  if (!moderates(access.standing.role)) return FORBIDDEN;
  const closed = await deps.rooms.dismissReports(actor.room, target);
  if (dismiss && closed > 0) {
    await record(deps, actor, { action: "dismiss", target });
  }
  await tellReports(deps, actor.room);
  return { ok: true, value: closed };
}

/** The audit log, newest first, for the owner and moderators. */
export async function auditLog(
  deps: ModerationDeps,
  actor: Actor,
  before: string | undefined,
  limit: number,
): Promise<Outcome<AuditPage>> {
  const access = await roleOf(deps, actor);
  if (!moderates(access.standing.role)) return FORBIDDEN;
  return {
    ok: true,
    value: await deps.rooms.auditPage(actor.room, before, limit),
  };
}

/** The room's record and settings, the memberships and the sanctions in force, for the panel. */
export interface RoomAdmin {
  info: RoomInfo;
  you: StandingView;
  members?: Membership[];
  mutes?: Sanction[];
  bans?: Sanction[];
}

/**
 * What the room panel shows `actor`: the record and their standing to
 * anyone; memberships, mutes and bans to its moderators.
 */
export async function roomAdmin(
  deps: ModerationDeps,
  actor: Actor,
): Promise<RoomAdmin> {
  const access = await roleOf(deps, actor);
  const info = roomInfoOf(actor.room, access.info);
  const you = standingView(access.standing);
  if (!moderates(access.standing.role)) return { info, you };
  const [members, mutes, bans] = await Promise.all([
    deps.rooms.members(actor.room, MAX_MEMBERS_LISTED),
    deps.rooms.sanctions(actor.room, "mute", MAX_MEMBERS_LISTED),
    deps.rooms.sanctions(actor.room, "ban", MAX_MEMBERS_LISTED),
  ]);
  return {
    info,
    you,
    members,
    mutes: mutes.map(withoutAddress),
    bans: bans.map(withoutAddress),
  };
}

/**
 * A sanction as moderators see it: without the address a guest's ban is
 * bound to, which is the server's to enforce, not a room owner's to read.
 */
function withoutAddress({ address: _, ...shown }: Sanction): Sanction {
  return shown;
}

/**
 * Replaces the room's settings (validated by `validateRoomSettings`): the
 * owner and moderators may; the whole room is told (`room` frame).
 */
export async function changeSettings(
  deps: ModerationDeps,
  actor: Actor,
  settings: RoomSettings,
): Promise<Outcome<RoomInfo>> {
  const access = await roleOf(deps, actor);
  if (!moderates(access.standing.role)) return FORBIDDEN;
  const before = roomInfoOf(actor.room, access.info).settings;
  const info = await deps.rooms.updateSettings(actor.room, settings);
  const changed = (Object.keys(settings) as (keyof RoomSettings)[])
    .filter((k) => settings[k] !== before[k]);
  await record(deps, actor, {
    action: "settings",
    detail: changed.length ? changed.join(", ") : "no change",
  });
  await deps.layer.groupSend(actor.room, { type: "room", info });
  return { ok: true, value: info };
}

/**
 * Gives `user` a role (moderator, member) or none: the owner only. The
 * person's sockets are told their new role.
 */
export async function assignRole(
  deps: ModerationDeps,
  actor: Actor,
  user: Reactor,
  role: Membership["role"] | null,
): Promise<Outcome<null>> {
  const access = await roleOf(deps, actor);
  if (access.standing.role !== "owner") return OWNER_ONLY;
  if (user.id === actor.user.id) {
    return {
      ok: false,
      code: "forbidden",
      message: "Hand the room over instead.",
    };
  }
  await deps.rooms.setRole(actor.room, reactor(user), role);
  await record(deps, actor, {
    action: "role",
    subject: reactor(user),
    detail: role ?? "none",
  });
  await tellStanding(deps, actor.room, user.id);
  return { ok: true, value: null };
}

/** Hands the room to `to` (a signed-in user): the owner only; they stay a moderator. */
export async function handOver(
  deps: ModerationDeps,
  actor: Actor,
  to: Reactor,
): Promise<Outcome<RoomInfo>> {
  const access = await roleOf(deps, actor);
  if (access.standing.role !== "owner") return OWNER_ONLY;
  if (!to.id.startsWith("google:")) {
    return {
      ok: false,
      code: "forbidden",
      message: "A room can only be handed to someone signed in with Google.",
    };
  }
  const info = await deps.rooms.transfer(actor.room, reactor(to));
  if (!info) return { ok: false, code: "not_found", message: "No such room." };
  await record(deps, actor, { action: "transfer", subject: reactor(to) });
  await deps.layer.groupSend(actor.room, { type: "room", info });
  await Promise.all([
    tellStanding(deps, actor.room, to.id),
    tellStanding(deps, actor.room, actor.user.id),
  ]);
  return { ok: true, value: info };
}

/**
 * Makes a signed-in (Google) user the owner of an ownerless room: a room
 * guests made, or one made before rooms had owners. First come, first served.
 */
export async function claimRoom(
  deps: ModerationDeps,
  actor: Actor,
): Promise<Outcome<RoomInfo>> {
  if (actor.user.kind !== "google") {
    return {
      ok: false,
      code: "sign_in_required",
      message: "Sign in with Google to claim a room.",
    };
  }
  // A direct conversation has two members and no owner, for good (`canSeeRoom`).
  if (isDirectRoom(actor.room)) {
    return {
      ok: false,
      code: "forbidden",
      message: "A direct conversation has no owner.",
    };
  }
  const info = await deps.rooms.claim(actor.room, reactor(actor.user), {
    ...DEFAULT_ROOM_SETTINGS,
  });
  if (!info) {
    return { ok: false, code: "forbidden", message: "This room has an owner." };
  }
  await record(deps, actor, { action: "claim" });
  await deps.layer.groupSend(actor.room, { type: "room", info });
  await tellStanding(deps, actor.room, actor.user.id);
  return { ok: true, value: info };
}

/**
 * Makes the record of a room a signed-in (Google) user enters for the first
 * time while it is empty (no messages): they own it. Returns the record, or
 * null when the room stays ownerless (a guest, or a room with history).
 */
export async function createOnEntry(
  deps: ModerationDeps,
  actor: Actor,
  lastSeq: number,
): Promise<RoomInfo | null> {
  if (actor.user.kind !== "google" || lastSeq > 0) return null;
  const { info, created } = await deps.rooms.create(
    actor.room,
    reactor(actor.user),
    { ...DEFAULT_ROOM_SETTINGS },
  );
  if (created) await record(deps, actor, { action: "create" });
  return info;
}
