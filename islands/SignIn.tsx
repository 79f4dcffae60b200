import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { MAX_NAME_CHARS } from "../lib/chat/protocol.ts";

export interface SignInProps {
  /** Where to go after signing in (a local path). */
  next: string;
  allowGuests: boolean;
}

/**
 * Guest sign-in. A plain form that posts without JS; with JS it posts JSON,
 * shows the server's error inline, and reloads into the signed-in page.
 */
export default function SignIn({ next, allowGuests }: SignInProps) {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const onSubmit = async (event: JSX.TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = new FormData(event.currentTarget).get("name");
    busy.value = true;
    error.value = null;
    try {
      const res = await fetch("/api/session/guest", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (res.ok) {
        location.assign(next);
        return;
      }
      const body = await res.json().catch(() => ({}));
      error.value = body.message ?? "Could not sign in. Try again.";
    } catch {
      error.value = "The server cannot be reached. Check your connection.";
    } finally {
      busy.value = false;
    }
  };

  if (!allowGuests) {
    return (
      <p class="text-body-secondary mb-0">Guest access is turned off here.</p>
    );
  }
  return (
    <form
      method="post"
      action="/api/session/guest"
      onSubmit={onSubmit}
      class="sign-in"
      noValidate
    >
      <input type="hidden" name="next" value={next} />
      <label for="guest-name" class="form-label">Your display name</label>
      <div class="input-group">
        <input
          id="guest-name"
          name="name"
          class={`form-control ${error.value ? "is-invalid" : ""}`}
          required
          maxLength={MAX_NAME_CHARS}
          autocomplete="nickname"
          placeholder="e.g. Ana"
        />
        <button type="submit" class="btn btn-primary" disabled={busy.value}>
          Join as guest
        </button>
      </div>
      {error.value && (
        <div class="invalid-feedback d-block" role="alert">{error.value}</div>
      )}
    </form>
  );
}
