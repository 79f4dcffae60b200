import { useSignal } from "@preact/signals";
import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { openSessionChannel } from "../lib/chat/client/session_channel.ts";
import { MAX_NAME_CHARS } from "../lib/chat/names.ts";
import type { ChatUser } from "../lib/chat/types.ts";
import { CSRF_HEADER, GOOGLE_GSI } from "../lib/shared.ts";

export interface SignInProps {
  /** Where to go after signing in (a local path). */
  next: string;
  allowGuests: boolean;
  /** OAuth client id; when set, the "Sign in with Google" button is offered. */
  googleClientId?: string | null;
  /**
   * Called with the user once signed in, instead of going to `next`: the
   * page carries on in place (the room's signed-out panel). It is then the
   * caller's to tell the other tabs.
   */
  onSignedIn?: (user: ChatUser) => void;
}

/** If GIS has neither loaded nor failed by then, say it is unavailable. */
const GIS_LOAD_TIMEOUT_MS = 10_000;

interface GoogleIdentity {
  accounts: {
    id: {
      initialize(options: Record<string, unknown>): void;
      renderButton(parent: HTMLElement, options: Record<string, unknown>): void;
    };
  };
}

/**
 * Loads GIS and renders Google's button into `container`; the credential
 * goes to `/api/auth/google`. Calls `onUnavailable` if the script cannot load.
 */
function useGoogleButton(
  clientId: string | null | undefined,
  container: { current: HTMLDivElement | null },
  onCredential: (credential: string) => void,
  onUnavailable: () => void,
): void {
  useEffect(() => {
    if (!clientId || !container.current) return;
    const script = document.createElement("script");
    script.src = GOOGLE_GSI.script;
    script.async = true;
    const timer = setTimeout(onUnavailable, GIS_LOAD_TIMEOUT_MS);
    script.onerror = () => {
      clearTimeout(timer);
      onUnavailable();
    };
    script.onload = () => {
      clearTimeout(timer);
      const google =
        (globalThis as unknown as { google?: GoogleIdentity }).google;
      if (!google || !container.current) return onUnavailable();
      google.accounts.id.initialize({
        client_id: clientId,
        callback: (response: { credential: string }) =>
          onCredential(response.credential),
        use_fedcm_for_prompt: true,
        use_fedcm_for_button: true,
      });
      google.accounts.id.renderButton(container.current, {
        theme: "outline",
        size: "large",
        text: "signin_with",
      });
    };
    document.head.appendChild(script);
    return () => clearTimeout(timer);
  }, [clientId]);
}

/** The user in a sign-in response (`{user}`), or `null`. */
async function signedInUser(res: Response): Promise<ChatUser | null> {
  const body = await res.json().catch(() => null);
  const user = body?.user;
  return typeof user?.id === "string" && typeof user?.name === "string"
    ? user
    : null;
}

/**
 * Guest sign-in. A plain form that posts without JS; with JS it posts JSON,
 * shows the server's error inline, tells the browser's other tabs, and
 * reloads into the signed-in page — or, given `onSignedIn`, hands the user
 * to the page and stays.
 */
export default function SignIn(
  { next, allowGuests, googleClientId, onSignedIn }: SignInProps,
) {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const googleUnavailable = useSignal(false);
  const googleButton = useRef<HTMLDivElement>(null);

  const signedIn = async (res: Response) => {
    const user = await signedInUser(res);
    if (user && onSignedIn) return onSignedIn(user);
    if (user) openSessionChannel().post({ type: "signed-in", user });
    location.assign(next);
  };

  const onCredential = async (credential: string) => {
    error.value = null;
    try {
      const res = await fetch("/api/auth/google", {
        method: "POST",
        headers: { "content-type": "application/json", [CSRF_HEADER]: "1" },
        body: JSON.stringify({ credential }),
      });
      if (res.ok) return await signedIn(res);
      const body = await res.json().catch(() => ({}));
      error.value = body.message ?? "Google sign-in failed. Try again.";
    } catch {
      error.value = "The server cannot be reached. Check your connection.";
    }
  };
  useGoogleButton(googleClientId, googleButton, onCredential, () => {
    googleUnavailable.value = true;
  });

  const google = googleClientId
    ? (
      <div class="google-signin mb-3" data-testid="google-signin">
        <div ref={googleButton} class="google-button"></div>
        {googleUnavailable.value && (
          <p
            class="small text-body-secondary mb-0"
            data-testid="google-unavailable"
          >
            Google sign-in could not load (blocked or offline).
            {allowGuests
              ? " You can still join as a guest."
              : " Try again later."}
          </p>
        )}
      </div>
    )
    : null;

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
        await signedIn(res);
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
      <div class="sign-in">
        {google}
        <p class="text-body-secondary mb-0" data-testid="sign-in-to-chat">
          Sign in to chat: guest access is turned off here.
        </p>
        {error.value && (
          <div class="text-danger small" role="alert">{error.value}</div>
        )}
      </div>
    );
  }
  return (
    <>
      {google}
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
    </>
  );
}
