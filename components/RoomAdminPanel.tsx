import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { RoomView } from "../lib/chat/client/room_client.ts";
import type {
  AuditEntry,
  Membership,
  MessageReport,
  Reactor,
  RoomInfo,
  RoomSettings,
  Sanction,
} from "../lib/chat/types.ts";
import { MAX_TITLE_CHARS, MAX_TOPIC_CHARS } from "../lib/chat/protocol.ts";
import { roomApi, untilLabel } from "./room_admin_api.ts";

/** The settings panel's choices: each value with what it means. */
const VISIBILITY_CHOICES: readonly [RoomSettings["visibility"], string][] = [
  ["public", "Public: listed in the lobby"],
  ["unlisted", "Unlisted: anyone with the name"],
  ["private", "Private: members only"],
];
const POST_POLICY_CHOICES: readonly [RoomSettings["postPolicy"], string][] = [
  ["everyone", "Everyone"],
  ["signed_in", "Signed-in users only"],
  ["members", "Members only"],
];

/** A labelled select of `options` (value, text). */
function Choice<T extends string>(
  { id, label, value, options, onChange }: {
    id: string;
    label: string;
    value: T;
    options: readonly [T, string][];
    onChange: (value: T) => void;
  },
): VNode {
  return (
    <>
      <label class="form-label mb-0" for={id}>{label}</label>
      <select
        id={id}
        class="form-select form-select-sm mb-2"
        value={value}
        onChange={(e) => onChange(e.currentTarget.value as T)}
      >
        {options.map(([v, text]) => <option key={v} value={v}>{text}</option>)}
      </select>
    </>
  );
}

/** What `GET /api/rooms/:room/settings` answers a moderator. */
interface AdminState {
  info: RoomInfo;
  members?: Membership[];
  mutes?: Sanction[];
  bans?: Sanction[];
}

/** A short line for one audit entry: "Mia muted Gus (10 min): spam". */
export function auditLine(e: AuditEntry): string {
  const verb: Record<AuditEntry["action"], string> = {
    create: "created the room",
    claim: "claimed the room",
    settings: "changed the settings",
    role: "changed the role of",
    transfer: "handed the room to",
    delete: "deleted a message by",
    mute: "muted",
    unmute: "unmuted",
    kick: "kicked",
    ban: "banned",
    unban: "unbanned",
    dismiss: "dismissed the reports of message",
    invite: "made an invite link",
    revoke_invite: "revoked an invite link",
    join: "joined",
    add: "added",
  };
  const parts = [e.actor.name, verb[e.action]];
  if (e.subject) parts.push(e.subject.name);
  if (e.target !== undefined && !e.subject) parts.push(`#${e.target}`);
  let line = parts.join(" ");
  if (e.detail) line += ` (${e.detail})`;
  if (e.reason) line += `: ${e.reason}`;
  return line;
}

/**
 * The room panel for its owner and moderators, as an offcanvas dialog:
 * settings, roles (the owner's), mutes and bans, reports to act on, and the
 * audit log, paged. Every change goes through the rooms API, which checks
 * the role again; refusals show in the panel's status line. Escape or Close
 * closes it (the opener takes the focus back).
 */
export function RoomAdminPanel(
  { room, view, onClose }: {
    room: string;
    view: RoomView;
    onClose: () => void;
  },
): VNode {
  const state = useSignal<AdminState | null>(null);
  const reports = useSignal<MessageReport[]>([]);
  const audit = useSignal<AuditEntry[]>([]);
  const auditNext = useSignal<string | undefined>(undefined);
  const status = useSignal("");
  const title = useRef<HTMLHeadingElement>(null);
  const owner = view.standing.role === "owner";

  const load = async () => {
    const [s, r, a] = await Promise.all([
      roomApi<AdminState>(room, "GET", "settings"),
      roomApi<{ reports: MessageReport[] }>(room, "GET", "reports"),
      roomApi<{ entries: AuditEntry[]; next?: string }>(room, "GET", "audit"),
    ]);
    if (s.ok) state.value = s.value;
    if (r.ok) reports.value = r.value.reports;
    if (a.ok) {
      audit.value = a.value.entries;
      auditNext.value = a.value.next;
    }
    const failed = [s, r, a].find((x) => !x.ok);
    if (failed && !failed.ok) status.value = failed.message;
  };
  useEffect(() => {
    title.current?.focus();
    load();
  }, []);
  // Reports made meanwhile show up without reopening.
  useEffect(() => {
    roomApi<{ reports: MessageReport[] }>(room, "GET", "reports").then((r) => {
      if (r.ok) reports.value = r.value.reports;
    });
  }, [view.reports]);

  const act = async (
    done: string,
    ...calls: Parameters<typeof roomApi>[]
  ): Promise<boolean> => {
    for (const call of calls) {
      const r = await roomApi(...call);
      if (!r.ok) {
        status.value = r.message;
        return false;
      }
    }
    status.value = done;
    await load();
    return true;
  };

  const present: Reactor[] = Object.values(view.presence)
    .map((e) => ({ id: e.user.id, name: e.user.name }))
    .filter((u) => u.id !== view.user.id);

  return (
    <>
      <div class="offcanvas-backdrop fade show" onClick={onClose}></div>
      <div
        class="offcanvas offcanvas-end show room-panel"
        role="dialog"
        aria-modal="true"
        aria-labelledby="room-panel-title"
        data-testid="room-panel"
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            onClose();
          }
        }}
      >
        <div class="offcanvas-header border-bottom">
          <h2
            id="room-panel-title"
            class="offcanvas-title h5"
            tabIndex={-1}
            ref={title}
          >
            Manage #{room}
          </h2>
          <button
            type="button"
            class="btn-close"
            aria-label="Close"
            onClick={onClose}
          >
          </button>
        </div>
        <div class="offcanvas-body">
          <p
            class="small text-body-secondary"
            role="status"
            data-testid="panel-status"
          >
            {status.value}
          </p>
          {state.value && (
            <SettingsForm
              settings={state.value.info.settings}
              onSave={(settings) =>
                act("Settings saved.", [room, "PUT", "settings", settings])}
            />
          )}
          {state.value && (
            <People
              state={state.value}
              owner={owner}
              present={present}
              onRole={(user, role) =>
                act(
                  `${user.name} is now ${
                    role === "none" ? "without a role" : `a ${role}`
                  }.`,
                  [
                    room,
                    "PUT",
                    "roles",
                    { user, role },
                  ],
                )}
              onHandOver={(user) =>
                act(`${user.name} owns the room now.`, [room, "PUT", "owner", {
                  user,
                }])}
              onLift={(kind, user) =>
                act(
                  `${user.name} is no longer ${
                    kind === "mute" ? "muted" : "banned"
                  }.`,
                  [
                    room,
                    "POST",
                    "moderation",
                    { action: kind === "mute" ? "unmute" : "unban", user },
                  ],
                )}
            />
          )}
          <Reports
            reports={reports.value}
            messages={view.messages}
            onAct={(target, author, action) => {
              const close: Parameters<typeof roomApi> = [
                room,
                "DELETE",
                `reports/${target}${action === "dismiss" ? "" : "?resolved=1"}`,
              ];
              switch (action) {
                case "dismiss":
                  return act("Reports dismissed.", close);
                case "delete":
                  return act(
                    "Message deleted.",
                    [room, "DELETE", `messages/${target}`],
                    close,
                  );
                case "mute":
                case "kick":
                case "ban":
                  if (!author) return act("", close);
                  return act(`${author.name}: ${action} done.`, [
                    room,
                    "POST",
                    "moderation",
                    { action, user: author },
                  ], close);
                default: {
                  const _exhaustive: never = action;
                  return act("", close);
                }
              }
            }}
          />
          <section aria-labelledby="audit-title" class="mt-4">
            <h3 id="audit-title" class="h6">Audit log</h3>
            <ol class="list-unstyled small audit-log" data-testid="audit-log">
              {audit.value.map((e) => (
                <li key={e.id} class="mb-1">
                  <time
                    class="text-body-secondary me-2"
                    dateTime={new Date(e.ts).toISOString()}
                  >
                    {new Date(e.ts).toLocaleString()}
                  </time>
                  {auditLine(e)}
                </li>
              ))}
            </ol>
            {auditNext.value && (
              <button
                type="button"
                class="btn btn-outline-secondary btn-sm"
                onClick={async () => {
                  const r = await roomApi<
                    { entries: AuditEntry[]; next?: string }
                  >(
                    room,
                    "GET",
                    `audit?before=${encodeURIComponent(auditNext.value!)}`,
                  );
                  if (!r.ok) {
                    status.value = r.message;
                    return;
                  }
                  audit.value = [...audit.value, ...r.value.entries];
                  auditNext.value = r.value.next;
                }}
              >
                Older entries
              </button>
            )}
          </section>
        </div>
      </div>
    </>
  );
}

function SettingsForm(
  { settings, onSave }: {
    settings: RoomSettings;
    onSave: (s: RoomSettings) => Promise<boolean>;
  },
): VNode {
  const draft = useSignal<RoomSettings>(settings);
  useEffect(() => {
    draft.value = settings;
  }, [settings]);
  const set = <K extends keyof RoomSettings>(
    k: K,
    v: RoomSettings[K],
  ) => (draft.value = { ...draft.value, [k]: v });
  const submit = (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    onSave(draft.value);
  };
  const d = draft.value;
  return (
    <section aria-labelledby="settings-title">
      <h3 id="settings-title" class="h6">Settings</h3>
      <form onSubmit={submit} class="small" data-testid="settings-form">
        <label class="form-label mb-0" for="room-title">Title</label>
        <input
          id="room-title"
          class="form-control form-control-sm mb-2"
          maxLength={MAX_TITLE_CHARS}
          value={d.title}
          onInput={(e) => set("title", e.currentTarget.value)}
        />
        <label class="form-label mb-0" for="room-topic">Topic</label>
        <input
          id="room-topic"
          class="form-control form-control-sm mb-2"
          maxLength={MAX_TOPIC_CHARS}
          value={d.topic}
          onInput={(e) => set("topic", e.currentTarget.value)}
        />
        <Choice
          id="room-visibility"
          label="Who can find it"
          value={d.visibility}
          options={VISIBILITY_CHOICES}
          onChange={(v) => set("visibility", v)}
        />
        <Choice
          id="room-post-policy"
          label="Who can post"
          value={d.postPolicy}
          options={POST_POLICY_CHOICES}
          onChange={(v) => set("postPolicy", v)}
        />
        <label class="form-label mb-0" for="room-slow">
          Slow mode (seconds between messages, 0 = off)
        </label>
        <input
          id="room-slow"
          type="number"
          min={0}
          max={21600}
          class="form-control form-control-sm mb-2"
          value={d.slowModeSeconds}
          onInput={(e) =>
            set("slowModeSeconds", Number(e.currentTarget.value) || 0)}
        />
        <div class="form-check mb-2">
          <input
            id="room-guests"
            type="checkbox"
            class="form-check-input"
            checked={d.guestsAllowed}
            onChange={(e) => set("guestsAllowed", e.currentTarget.checked)}
          />
          <label class="form-check-label" for="room-guests">
            Guests may post
          </label>
        </div>
        <button type="submit" class="btn btn-primary btn-sm">
          Save settings
        </button>
      </form>
    </section>
  );
}

function People(
  { state, owner, present, onRole, onHandOver, onLift }: {
    state: AdminState;
    owner: boolean;
    present: Reactor[];
    onRole: (user: Reactor, role: "moderator" | "member" | "none") => void;
    onHandOver: (user: Reactor) => void;
    onLift: (kind: "mute" | "ban", user: Reactor) => void;
  },
): VNode {
  const pick = useSignal("");
  const pickRole = useSignal<"moderator" | "member">("moderator");
  const members = state.members ?? [];
  const candidates = present.filter((p) => p.id !== state.info.owner?.id);
  const picked = candidates.find((p) => p.id === pick.value) ??
    candidates[0];
  return (
    <section aria-labelledby="people-title" class="mt-4 small">
      <h3 id="people-title" class="h6">People</h3>
      <p class="mb-1">
        Owner: {state.info.owner ? state.info.owner.name : "nobody yet"}
      </p>
      <ul class="list-unstyled mb-2" data-testid="members">
        {members.map((m) => (
          <li key={m.user.id} class="d-flex align-items-center gap-2 mb-1">
            <span>{m.user.name}</span>
            <span class="badge text-bg-light">{m.role}</span>
            {owner && (
              <button
                type="button"
                class="btn btn-link btn-sm p-0"
                onClick={() => onRole(m.user, "none")}
              >
                Remove role<span class="visually-hidden">
                  {` of ${m.user.name}`}
                </span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {owner && candidates.length > 0 && (
        <form
          class="d-flex flex-wrap gap-1 align-items-center mb-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (picked) onRole(picked, pickRole.value);
          }}
        >
          <label class="visually-hidden" for="role-person">Person</label>
          <select
            id="role-person"
            class="form-select form-select-sm w-auto"
            value={picked?.id}
            onChange={(e) => (pick.value = e.currentTarget.value)}
          >
            {candidates.map((p) => (
              <option key={p.id} value={p.id}>{p.name}</option>
            ))}
          </select>
          <label class="visually-hidden" for="role-role">Role</label>
          <select
            id="role-role"
            class="form-select form-select-sm w-auto"
            value={pickRole.value}
            onChange={(e) => (pickRole.value = e.currentTarget.value as
              | "moderator"
              | "member")}
          >
            <option value="moderator">Moderator</option>
            <option value="member">Member</option>
          </select>
          <button type="submit" class="btn btn-outline-primary btn-sm">
            Give role
          </button>
          {picked?.id.startsWith("google:") && (
            <button
              type="button"
              class="btn btn-outline-danger btn-sm"
              onClick={() => onHandOver(picked)}
            >
              Hand the room to {picked.name}
            </button>
          )}
        </form>
      )}
      {(["mute", "ban"] as const).map((kind) => {
        const list = (kind === "mute" ? state.mutes : state.bans) ?? [];
        return list.length > 0 && (
          <div key={kind}>
            <h4 class="h6 small mt-2">
              {kind === "mute" ? "Muted" : "Banned"}
            </h4>
            <ul class="list-unstyled">
              {list.map((s) => (
                <li key={s.user.id} class="d-flex gap-2 align-items-center">
                  <span>
                    {s.user.name} {untilLabel(s.until)}
                    {s.reason ? `: ${s.reason}` : ""}
                  </span>
                  <button
                    type="button"
                    class="btn btn-link btn-sm p-0"
                    onClick={() =>
                      onLift(kind, s.user)}
                  >
                    {kind === "mute" ? "Unmute" : "Unban"}
                    <span class="visually-hidden">{` ${s.user.name}`}</span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        );
      })}
    </section>
  );
}

type ReportAction = "delete" | "mute" | "kick" | "ban" | "dismiss";

function Reports(
  { reports, messages, onAct }: {
    reports: MessageReport[];
    messages: RoomView["messages"];
    onAct: (target: number, author: Reactor | null, a: ReportAction) => void;
  },
): VNode {
  const byTarget = new Map<number, MessageReport[]>();
  for (const r of reports) {
    byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  }
  return (
    <section aria-labelledby="reports-title" class="mt-4 small">
      <h3 id="reports-title" class="h6">Reports ({byTarget.size})</h3>
      {byTarget.size === 0 && (
        <p class="text-body-secondary">No open reports.</p>
      )}
      <ul class="list-unstyled" data-testid="reports">
        {[...byTarget].map(([target, list]) => {
          const m = messages.find((x) => x.seq === target);
          const author = m ? { id: m.user.id, name: m.user.name } : null;
          const label = m
            ? `${m.user.name}: ${m.deleted ? "(deleted)" : m.text.slice(0, 80)}`
            : `Message #${target}`;
          return (
            <li key={target} class="border rounded p-2 mb-2">
              <div class="fw-semibold">{label}</div>
              <div class="text-body-secondary">
                Reported by {list.map((r) =>
                  r.reason
                    ? `${r.reporter.name} (${r.reason})`
                    : r.reporter.name
                ).join(", ")}
              </div>
              <div
                class="d-flex flex-wrap gap-1 mt-1"
                role="group"
                aria-label={`Act on ${label}`}
              >
                {(["delete", "mute", "kick", "ban", "dismiss"] as const)
                  .filter((a) => a === "dismiss" || a === "delete" || author)
                  .map((a) => (
                    <button
                      key={a}
                      type="button"
                      class="btn btn-outline-secondary btn-sm py-0"
                      onClick={() => onAct(target, author, a)}
                    >
                      {a === "mute"
                        ? "Mute 10 min"
                        : a[0].toUpperCase() + a.slice(1)}
                    </button>
                  ))}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
