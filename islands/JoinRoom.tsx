import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useRef } from "preact/hooks";
import {
  MAX_ROOM_CHARS,
  normalizeRoomName,
  suggestRoomName,
} from "../lib/chat/names.ts";

export interface JoinRoomProps {
  /** What was typed last time (the server sent the visitor back with it). */
  initial: string;
  /** The server's one wording for a refused room name (`ROUTE_ERRORS.bad_room`). */
  invalidMessage: string;
  /** Whether the server refused `initial` (shown before any typing). */
  refused: boolean;
}

/**
 * The lobby's "join a room" form. A plain GET form to `/chat` that works
 * without JS (the server normalizes, or sends the visitor back here with the
 * reason and a suggestion); with JS it explains a name that would be refused
 * as it is typed, offers the closest valid name, and shows where a valid one
 * leads (`My Room` → `#my-room`).
 */
export default function JoinRoom(
  { initial, invalidMessage, refused }: JoinRoomProps,
) {
  const value = useSignal(initial);
  const input = useRef<HTMLInputElement>(null);
  const typed = value.value.trim();
  const room = typed ? normalizeRoomName(typed) : null;
  const invalid = typed !== "" && room === null;
  const suggestion = invalid ? suggestRoomName(typed) : null;
  // Before hydration only the server's verdict on `initial` is known.
  const showInvalid = invalid || (refused && typed === "");
  const describedBy = ["room-help", showInvalid && "room-feedback"]
    .filter(Boolean).join(" ");

  const onSubmit = (event: JSX.TargetedSubmitEvent<HTMLFormElement>) => {
    if (room) return;
    event.preventDefault();
    input.current?.focus();
  };

  return (
    <form
      method="get"
      action="/chat"
      class="join-room"
      onSubmit={onSubmit}
      noValidate
    >
      <label for="room-name" class="form-label">Room</label>
      <div class={`input-group ${showInvalid ? "has-validation" : ""}`}>
        <span class="input-group-text" aria-hidden="true">#</span>
        <input
          ref={input}
          id="room-name"
          name="room"
          class={`form-control ${showInvalid ? "is-invalid" : ""}`}
          required
          maxLength={MAX_ROOM_CHARS * 2}
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          placeholder="general"
          value={value.value}
          onInput={(e) => {
            value.value = e.currentTarget.value;
          }}
          aria-invalid={showInvalid ? "true" : undefined}
          aria-describedby={describedBy}
        />
        <button type="submit" class="btn btn-success">
          Join
        </button>
      </div>
      <div id="room-help" class="form-text">
        Letters a–z, digits, '-' and '_', up to {MAX_ROOM_CHARS}{" "}
        characters. Spaces become '-' and capitals lower case.
        {room && room !== typed && (
          <span data-testid="room-preview" class="ms-1">
            Opens <strong>#{room}</strong>.
          </span>
        )}
      </div>
      {showInvalid && (
        <div
          id="room-feedback"
          class="invalid-feedback d-block"
          data-testid="room-feedback"
        >
          {invalidMessage}
          {suggestion && (
            <>
              {" "}
              <a
                href={`/chat/${suggestion}`}
                class="room-suggestion"
                data-testid="room-suggestion"
              >
                Use #{suggestion}
              </a>
            </>
          )}
        </div>
      )}
    </form>
  );
}
