/** Shown by the service worker for a page never opened before, when there is no network. */
export const title = "Offline";

/**
 * The offline page (cached by the service worker at install, fetched without
 * a session so it names no one): what happened and the way back.
 */
export default function OfflinePage() {
  return (
    <main class="container py-5 offline-page" data-testid="offline-page">
      <div class="row justify-content-center">
        <div class="col-lg-6 col-md-8">
          <h1 class="h3 mb-3">You're offline</h1>
          <p class="mb-4">
            This page was not opened on this device before, so there is no copy
            of it here. Rooms you opened earlier still open, and what you write
            in them is sent once the connection is back.
          </p>
          <a class="btn btn-primary" href="/">Back to the lobby</a>
        </div>
      </div>
    </main>
  );
}
