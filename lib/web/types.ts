/**
 * Types of the small framework layer: route modules in Fresh's shape, mounted
 * on Hono.
 *
 * @module
 */

import type { Context, Env, MiddlewareHandler } from "hono";
import type { ComponentType, VNode } from "preact";

/** Props a page component receives. */
export interface PageProps<Data = unknown, State = Record<string, unknown>> {
  url: URL;
  /** Values of the `[param]` segments. */
  params: Record<string, string>;
  /** What the handler passed to `render`. */
  data: Data;
  /** The request's context variables (`c.var`): user, assets, nonce… */
  state: State;
}

/** Props of `routes/_app.tsx`: the document shell around every page. */
export interface AppProps<State = Record<string, unknown>> {
  Component: () => VNode;
  url: URL;
  state: State;
  title: string;
}

/** Renders the route's page component inside `_app` with `data`. */
export type RenderFn = (data?: unknown, init?: ResponseInit) => Response;

/** A route handler: Hono's context plus Fresh's `render`. */
export type HandlerFn<E extends Env = Env> = (
  c: Context<E>,
  render: RenderFn,
) => Response | Promise<Response>;

/** HTTP methods a route module may handle. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One handler for every method, or one per method. */
export type Handlers<E extends Env = Env> =
  | HandlerFn<E>
  | Partial<Record<Method, HandlerFn<E>>>;

/** A module under `routes/`. */
export interface RouteModule {
  // deno-lint-ignore no-explicit-any
  default?: ComponentType<PageProps<any, any>>;
  // deno-lint-ignore no-explicit-any
  handler?: Handlers<any>;
  /** The document title, fixed or from the page's props. */
  // deno-lint-ignore no-explicit-any
  title?: string | ((props: PageProps<any, any>) => string);
}

/** `routes/**\/_middleware.ts`. */
export interface MiddlewareModule {
  // deno-lint-ignore no-explicit-any
  handler: MiddlewareHandler<any> | MiddlewareHandler<any>[];
}

/** `routes/_app.tsx`. */
export interface AppModule {
  // deno-lint-ignore no-explicit-any
  default: ComponentType<AppProps<any>>;
}

/** A module under `islands/`: its default export is hydrated in the browser. */
export interface IslandModule {
  // deno-lint-ignore no-explicit-any
  default: ComponentType<any>;
}

/** What `deno task build` writes to `manifest.gen.ts`. */
export interface Manifest {
  /** Keyed by path under `routes/` without extension, e.g. `chat/[room]`. */
  routes: Record<string, RouteModule | MiddlewareModule | AppModule>;
  /** Keyed by island name (file name without extension). */
  islands: Record<string, IslandModule>;
}
