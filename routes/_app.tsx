import type { AppVariables } from "../lib/context.ts";
import type { AppProps } from "../lib/web/types.ts";
import { Navbar } from "../components/Navbar.tsx";

/** Follows the system colour scheme before first paint (the only inline script; it carries the CSP nonce). */
const THEME_SCRIPT =
  `document.documentElement.dataset.bsTheme=matchMedia("(prefers-color-scheme: dark)").matches?"dark":"light";`;

export default function App(
  { Component, state, url, title }: AppProps<AppVariables>,
) {
  const { assets, user, secureHeadersNonce } = state;
  return (
    <html lang="en" data-bs-theme="light">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{title ? `${title} · Roomcast` : "Roomcast"}</title>
        <meta name="theme-color" content="#0d6efd" />
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="manifest" href="/static/manifest.webmanifest" />
        <link
          rel="apple-touch-icon"
          href="/static/icons/apple-touch-icon.png"
        />
        {assets.styles.map((href) => (
          <link key={href} rel="stylesheet" href={href} />
        ))}
        <script
          nonce={secureHeadersNonce}
          dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }}
        />
        <script type="module" src={assets.islands} />
        {assets.scripts.map((src) => <script key={src} src={src} defer />)}
      </head>
      <body>
        <div class="app-shell">
          <Navbar user={user} path={url.pathname} />
          <Component />
        </div>
      </body>
    </html>
  );
}
