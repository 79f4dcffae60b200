import type { PageProps } from "../lib/web/types.ts";
import type { ErrorPageData } from "../lib/web/errors.ts";

/** The headline per status class; the sentence under it is the error's own wording. */
function headline(status: number): string {
  switch (status) {
    case 400:
      return "That address does not work";
    case 401:
    case 403:
      return "Not allowed";
    case 404:
      return "Page not found";
    case 429:
      return "Too many requests";
    default:
      return status >= 500 ? "Something went wrong" : "That did not work";
  }
}

export const title = ({ data }: PageProps<ErrorPageData>) =>
  headline(data.status);

/**
 * The page a browser gets for a route error (`routeError` in
 * `lib/web/errors.ts`): the status, the error's one sentence, and a way back.
 */
export default function ErrorPage({ data }: PageProps<ErrorPageData>) {
  return (
    <main class="container py-5 error-page" data-testid="error-page">
      <div class="row justify-content-center">
        <div class="col-lg-6 col-md-8">
          <p class="text-body-secondary mb-1" data-testid="error-status">
            Error {data.status}
          </p>
          <h1 class="h3 mb-3">{headline(data.status)}</h1>
          <p class="mb-4" data-testid="error-message">{data.message}</p>
          <div class="d-flex flex-wrap gap-2">
            {data.hint && (
              <a
                class="btn btn-primary"
                href={data.hint.href}
                data-testid="error-hint"
              >
                {data.hint.label}
              </a>
            )}
            <a
              class={`btn ${
                data.hint ? "btn-outline-secondary" : "btn-primary"
              }`}
              href="/"
            >
              Back to the lobby
            </a>
          </div>
        </div>
      </div>
    </main>
  );
}
