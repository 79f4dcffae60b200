import { useSignal } from "@preact/signals";
import type { JSX, VNode } from "preact";
import { MAX_REASON_CHARS } from "../lib/chat/protocol.ts";
import type { ChatMessage, Reactor } from "../lib/chat/types.ts";

/** What a moderator's actions on someone else's message do. */
export interface ModerationHandlers {
  /** Deletes message `seq` as a moderator (already confirmed). */
  onDelete(seq: number): void;
  /** Mutes (for `minutes`), kicks or bans the author, with an optional reason. */
  onModerate(
    action: "mute" | "kick" | "ban",
    user: Reactor,
    minutes?: number,
    reason?: string,
  ): void;
}

/** Mute lengths offered, in minutes. */
export const MUTE_CHOICES: readonly [number, string][] = [
  [10, "10 minutes"],
  [60, "1 hour"],
  [1440, "1 day"],
  [10080, "1 week"],
];

type Pending = "delete" | "mute" | "kick" | "ban" | "report" | null;

/**
 * The actions on someone else's message: Report (anyone), and for the
 * room's moderators Delete, Mute, Kick and Ban, each confirmed in place
 * (with a reason, and a length for a mute).
 */
export function OthersActions(
  { message, onReport, moderation }: {
    message: ChatMessage;
    onReport?: (seq: number, reason?: string) => void;
    moderation?: ModerationHandlers;
  },
): VNode | null {
  const pending = useSignal<Pending>(null);
  const reason = useSignal("");
  const minutes = useSignal(MUTE_CHOICES[0][0]);
  if (!onReport && !moderation) return null;
  const author = { id: message.user.id, name: message.user.name };
  const open = (what: Pending) => {
    reason.value = "";
    pending.value = what;
  };
  const confirm = (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const why = reason.value.trim() || undefined;
    switch (pending.value) {
      case "report":
        onReport?.(message.seq, why);
        break;
      case "delete":
        moderation?.onDelete(message.seq);
        break;
      case "mute":
        moderation?.onModerate("mute", author, minutes.value, why);
        break;
      case "kick":
      case "ban":
        moderation?.onModerate(pending.value, author, undefined, why);
        break;
      case null:
        break;
      default: {
        const _exhaustive: never = pending.value;
      }
    }
    pending.value = null;
  };
  const button = (
    what: Exclude<Pending, null>,
    label: string,
    icon: string,
  ) => (
    <button
      type="button"
      class={`btn btn-link btn-sm p-0 me-2 ${
        what === "report" ? "" : "text-danger"
      }`}
      aria-label={label}
      title={label}
      onClick={() => open(what)}
    >
      <i class={`bi ${icon}`} aria-hidden="true"></i>
    </button>
  );
  const titles: Record<Exclude<Pending, null>, string> = {
    report: "Report this message to the moderators",
    delete: `Delete ${author.name}'s message`,
    mute: `Mute ${author.name}`,
    kick: `Kick ${author.name} from the room`,
    ban: `Ban ${author.name} from the room`,
  };
  return (
    <span class="others-actions">
      {pending.value === null && (
        <>
          {onReport && button("report", "Report", "bi-flag")}
          {moderation && (
            <>
              {button("delete", "Delete as moderator", "bi-trash")}
              {button("mute", `Mute ${author.name}`, "bi-mic-mute")}
              {button("kick", `Kick ${author.name}`, "bi-box-arrow-right")}
              {button("ban", `Ban ${author.name}`, "bi-slash-circle")}
            </>
          )}
        </>
      )}
      {pending.value !== null && (
        <form
          class="moderation-confirm d-inline-flex flex-wrap align-items-center gap-1"
          aria-label={titles[pending.value]}
          onSubmit={confirm}
          onKeyDown={(e) => {
            if (e.key === "Escape") pending.value = null;
          }}
        >
          <span class="me-1">{titles[pending.value]}?</span>
          {pending.value === "mute" && (
            <select
              class="form-select form-select-sm w-auto"
              aria-label="Mute for"
              value={minutes.value}
              onChange={(e) => (minutes.value = Number(e.currentTarget.value))}
            >
              {MUTE_CHOICES.map(([m, label]) => (
                <option key={m} value={m}>{label}</option>
              ))}
            </select>
          )}
          {pending.value !== "delete" && (
            <input
              class="form-control form-control-sm w-auto"
              aria-label="Reason (optional)"
              placeholder="Reason (optional)"
              maxLength={MAX_REASON_CHARS}
              value={reason.value}
              ref={(el) => el?.focus()}
              onInput={(e) => (reason.value = e.currentTarget.value)}
            />
          )}
          <button
            type="submit"
            class={`btn btn-sm py-0 ${
              pending.value === "report" ? "btn-primary" : "btn-danger"
            }`}
            ref={(el) => {
              if (pending.value === "delete") el?.focus();
            }}
          >
            {pending.value === "report"
              ? "Report"
              : pending.value[0].toUpperCase() + pending.value.slice(1)}
          </button>
          <button
            type="button"
            class="btn btn-outline-secondary btn-sm py-0"
            onClick={() => (pending.value = null)}
          >
            Cancel
          </button>
        </form>
      )}
    </span>
  );
}
