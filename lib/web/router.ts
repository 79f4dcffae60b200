/**
 * Mounts a {@link Manifest} of file routes on a Hono app, with Fresh's
 * conventions: `[param]` and `[...rest]` segments, `index`, `_app`, and
 * `_middleware` applying to its folder and below.
 *
 * @module
 */

import type { Context, Env, Hono, MiddlewareHandler } from "hono";
import { h, type VNode } from "preact";

// deno-lint-ignore no-explicit-any
type AnyVNode = VNode<any>;
import { renderToString } from "preact-render-to-string";
import { registerIslands } from "./islands.tsx";
import {
  ERROR_PAGE_VAR,
  type ErrorPageData,
  type ErrorPageRenderer,
} from "./errors.ts";
import type {
  AppModule,
  AppProps,
  HandlerFn,
  Manifest,
  Method,
  MiddlewareModule,
  PageProps,
  RenderFn,
  RouteModule,
} from "./types.ts";

const METHODS: readonly Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/**
 * Converts a route key (path under `routes/` without extension) to a Hono path.
 *
 * @example
 * ```ts
 * routePath("index");                  // "/"
 * routePath("chat/[room]");            // "/chat/:room"
 * routePath("files/[...path]");        // "/files/:path{.+}"
 * ```
 */
export function routePath(key: string): string {
  const segments = key.split("/").filter((s) => s !== "index").map((s) => {
    const rest = s.match(/^\[\.\.\.(\w+)\]$/);
    if (rest) return `:${rest[1]}{.+}`;
    const param = s.match(/^\[(\w+)\]$/);
    return param ? `:${param[1]}` : s;
  });
  return "/" + segments.join("/");
}

/** Static segments before dynamic ones, so `/chat/new` wins over `/chat/:room`. */
function specificity(path: string): number[] {
  return path.split("/").map((s) =>
    s.startsWith(":") ? (s.includes("{") ? 2 : 1) : 0
  );
}

function compareRoutes(a: string, b: string): number {
  const sa = specificity(a), sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const d = (sa[i] ?? -1) - (sb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Adds every middleware and route of `manifest` to `app` and registers its
 * islands. `routes/_error.tsx`, when present, is the page `routeError` shows
 * a browser (inside `_app`, with the error's status).
 */
export function mountManifest<E extends Env>(
  app: Hono<E>,
  manifest: Manifest,
): void {
  registerIslands(manifest.islands);
  const appModule = manifest.routes["_app"] as AppModule | undefined;
  const errorModule = manifest.routes["_error"] as RouteModule | undefined;
  if (errorModule?.default) {
    const renderer: ErrorPageRenderer = (c, data: ErrorPageData) =>
      makeRender(c, errorModule, appModule)(data, { status: data.status });
    app.use("*", async (c, next) => {
      c.set(ERROR_PAGE_VAR as never, renderer as never);
      await next();
    });
  }

  const middlewares = Object.entries(manifest.routes)
    .filter(([key]) => key === "_middleware" || key.endsWith("/_middleware"))
    .sort(([a], [b]) => a.split("/").length - b.split("/").length);
  for (const [key, mod] of middlewares) {
    const dir = routePath(key.replace(/\/?_middleware$/, ""));
    const handlers = ([] as MiddlewareHandler[]).concat(
      (mod as MiddlewareModule).handler,
    );
    // Hono's `/dir/*` also matches `/dir` itself: one registration covers both.
    app.use(dir === "/" ? "*" : `${dir}/*`, ...handlers);
  }

  const routes = Object.entries(manifest.routes)
    .filter(([key]) => !key.split("/").some((s) => s.startsWith("_")))
    .map(([key, mod]) => [routePath(key), mod as RouteModule] as const)
    .sort(([a], [b]) => compareRoutes(a, b));
  for (const [path, mod] of routes) {
    for (const method of METHODS) {
      const handler = pickHandler(mod, method);
      if (!handler) continue;
      app.on(method, path, (c) => {
        const ctx = c as unknown as Context;
        return handler(ctx, makeRender(ctx, mod, appModule));
      });
    }
  }
}

function pickHandler(mod: RouteModule, method: Method): HandlerFn | undefined {
  const { handler } = mod;
  if (typeof handler === "function") return handler;
  const own = handler?.[method];
  if (own) return own;
  if (method === "GET" && mod.default) return (_c, render) => render();
  return undefined;
}

function makeRender(
  c: Context,
  mod: RouteModule,
  appModule: AppModule | undefined,
): RenderFn {
  return (data, init) => {
    const Page = mod.default;
    if (!Page) {
      throw new Error(`route ${c.req.path} has no page component to render`);
    }
    const url = new URL(c.req.url);
    const state = c.var as Record<string, unknown>;
    const props: PageProps = {
      url,
      params: c.req.param() as Record<string, string>,
      data,
      state,
    };
    const title = typeof mod.title === "function"
      ? mod.title(props)
      : mod.title ?? "";
    const Component = (): AnyVNode => h(Page, props);
    const tree: AnyVNode = appModule
      ? h(
        appModule.default,
        { Component, url, state, title } satisfies AppProps,
      )
      : Component();
    const headers = new Headers(init?.headers);
    headers.set("Content-Type", "text/html; charset=utf-8");
    return new Response("<!DOCTYPE html>" + renderToString(tree), {
      status: init?.status ?? 200,
      headers,
    });
  };
}
