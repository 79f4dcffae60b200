/**
 * What Deno Deploy gives a running app, for tests that play it: the
 * predefined environment variables (docs.deno.com, deploy/reference/env_vars_and_contexts,
 * "Predefined environment variables"), with made-up values.
 */

/** The variables Deno Deploy sets in every context; users cannot set `DENO_*` ones there. */
export const DEPLOY_ENV: Readonly<Record<string, string>> = {
  DENO_DEPLOY: "1",
  DENO_DEPLOYMENT_ID: "a1b2c3d4",
  DENO_DEPLOY_ORG_ID: "org-id",
  DENO_DEPLOY_ORG_SLUG: "roomcast-org",
  DENO_DEPLOY_APP_ID: "app-id",
  DENO_DEPLOY_APP_SLUG: "roomcast",
  DENO_DEPLOY_BUILD_ID: "build-id",
};
