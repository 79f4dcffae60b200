import { useSignal } from "@preact/signals";
import type { VNode } from "preact";
import { MAX_NAME_CHARS } from "../lib/chat/names.ts";
import { CSRF_HEADER } from "../lib/shared.ts";

/** An invite as `GET /api/rooms/:room/invites` lists it. */
interface InviteItem {
  token: string;
  url: string;
  expires: number;
  maxUses: number;
  uses: number;
}

/** Someone the directory found by the name asked for, when several were. */
interface Candidate {
  id: string;
  name: string;
  kind: "guest" | "google";
}

/** Lifetimes offered, in hours, with their labels. */
const LIFETIMES: [number, string][] = [
  [1, "1 hour"],
  [24, "1 day"],
  [168, "7 days"],
  [720, "30 days"],
];

const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json",
  [CSRF_HEADER]: "1",
};

/**
 * The room's invitations, for its owner and moderators: make an invite link
 * (how long, how many people), see and revoke the usable ones, or add a
 * person by name. Everything goes through the invites and members APIs,
 * which check the role again.
 */
export default function RoomInvites({ room }: { room: string }): VNode {
  const invites = useSignal<InviteItem[] | null>(null);
  const created = useSignal<InviteItem | null>(null);
  const status = useSignal("");
  const hours = useSignal("168");
  const uses = useSignal("10");
  const name = useSignal("");
  const candidates = useSignal<Candidate[]>([]);

  const load = async () => {
    const res = await fetch(`/api/rooms/${room}/invites`, {
      headers: { accept: "application/json" },
    });
    if (res.ok) invites.value = (await res.json()).invites;
  };
  const problem = async (res: Response) =>
    (await res.json().catch(() => null))?.message ?? "That did not work.";

  const create = async (event: Event) => {
    event.preventDefault();
    const res = await fetch(`/api/rooms/${room}/invites`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify({
        hours: Number(hours.value),
        uses: Number(uses.value),
      }),
    });
    if (!res.ok) {
      status.value = await problem(res);
      return;
    }
    created.value = (await res.json()).invite;
    status.value = "Invite link created.";
    await load();
  };

  const revoke = async (token: string) => {
    const res = await fetch(`/api/rooms/${room}/invites/${token}`, {
      method: "DELETE",
      headers: JSON_HEADERS,
    });
    status.value = res.ok ? "Invite link revoked." : await problem(res);
    if (created.value?.token === token) created.value = null;
    await load();
  };

  /** Adds by the name typed, or (several of that name) the one picked. */
  const add = async (who: { name: string } | { userId: string }) => {
    const res = await fetch(`/api/rooms/${room}/members`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify(who),
    });
    if (res.status === 409) {
      const body = await res.json();
      candidates.value = body.candidates;
      status.value = body.message;
      return;
    }
    candidates.value = [];
    if (!res.ok) {
      status.value = await problem(res);
      return;
    }
    const body = await res.json();
    status.value = body.added
      ? `${body.member.name} is now a member.`
      : `${body.member.name} was already in the room.`;
    name.value = "";
  };

  return (
    <details
      class="room-invites ms-auto"
      onToggle={(e) => {
        if ((e.currentTarget as HTMLDetailsElement).open) load();
      }}
    >
      <summary
        class="btn btn-sm btn-outline-primary"
        data-testid="invite-toggle"
      >
        <i class="bi bi-person-plus me-1" aria-hidden="true"></i>Invite
      </summary>
      <div class="card card-body room-invites-panel mt-2 shadow-sm">
        <h2 class="h6">Invite link</h2>
        <form class="row g-2 align-items-end mb-2" onSubmit={create}>
          <div class="col">
            <label class="form-label small mb-1" for="invite-hours">
              Valid for
            </label>
            <select
              id="invite-hours"
              class="form-select form-select-sm"
              value={hours.value}
              onChange={(e) => (hours.value = e.currentTarget.value)}
            >
              {LIFETIMES.map(([h, label]) => (
                <option key={h} value={String(h)}>{label}</option>
              ))}
            </select>
          </div>
          <div class="col">
            <label class="form-label small mb-1" for="invite-uses">
              People
            </label>
            <input
              id="invite-uses"
              type="number"
              min={1}
              max={100}
              class="form-control form-control-sm"
              value={uses.value}
              onInput={(e) => (uses.value = e.currentTarget.value)}
            />
          </div>
          <div class="col-auto">
            <button
              type="submit"
              class="btn btn-sm btn-primary"
              data-testid="invite-create"
            >
              Create link
            </button>
          </div>
        </form>
        {created.value && (
          <div class="mb-2">
            <label class="form-label small mb-1" for="invite-link">
              Share this link
            </label>
            <input
              id="invite-link"
              class="form-control form-control-sm"
              readOnly
              value={created.value.url}
              data-testid="invite-link"
              onFocus={(e) => e.currentTarget.select()}
            />
          </div>
        )}
        {invites.value && invites.value.length > 0 && (
          <ul class="list-unstyled small mb-2" aria-label="Usable invite links">
            {invites.value.map((i) => (
              <li key={i.token} class="d-flex align-items-center gap-2 py-1">
                <span class="text-truncate">
                  …{i.token.slice(-6)}: {i.uses}/{i.maxUses} used, until{" "}
                  {new Date(i.expires).toLocaleString()}
                </span>
                <button
                  type="button"
                  class="btn btn-sm btn-outline-danger py-0 ms-auto"
                  aria-label={`Revoke the link ending ${i.token.slice(-6)}`}
                  onClick={() =>
                    revoke(i.token)}
                >
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        )}
        <h2 class="h6 mt-2">Add by name</h2>
        <form
          class="input-group input-group-sm"
          onSubmit={(e) => {
            e.preventDefault();
            add({ name: name.value });
          }}
        >
          <label class="visually-hidden" for="invite-name">
            Name of someone who signed in lately
          </label>
          <input
            id="invite-name"
            class="form-control"
            required
            maxLength={MAX_NAME_CHARS}
            placeholder="Name"
            value={name.value}
            onInput={(e) => (name.value = e.currentTarget.value)}
          />
          <button type="submit" class="btn btn-outline-primary">Add</button>
        </form>
        {candidates.value.length > 0 && (
          <ul
            class="list-unstyled small mt-2 mb-0"
            aria-label="People of that name"
          >
            {candidates.value.map((p) => (
              <li key={p.id} class="py-1">
                <button
                  type="button"
                  class="btn btn-sm btn-outline-primary py-0"
                  onClick={() => add({ userId: p.id })}
                >
                  Add {p.name} ({p.kind === "google" ? "Google" : "guest"},{" "}
                  {p.id.slice(-6)})
                </button>
              </li>
            ))}
          </ul>
        )}
        <p class="small text-body-secondary mt-1 mb-0">
          Finds people who signed in within a session's lifetime.
        </p>
        <p class="small mt-2 mb-0" role="status" data-testid="invite-status">
          {status.value}
        </p>
      </div>
    </details>
  );
}
