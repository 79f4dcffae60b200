/**
 * Browser side of islands: finds every marker the server rendered and
 * hydrates the named component with its props. Bundled with the islands by
 * `deno task build`; never imported by server code.
 *
 * @module
 */

import { type ComponentType, h, hydrate } from "preact";
import { ISLAND_ATTR, PROPS_ATTR } from "./island_attrs.ts";

/**
 * Hydrates every island on the page.
 *
 * @example
 * ```ts
 * import ChatRoom from "../islands/ChatRoom.tsx";
 * boot({ ChatRoom });
 * ```
 */
export function boot(
  islands: Record<string, ComponentType<Record<string, unknown>>>,
): void {
  for (const el of document.querySelectorAll<HTMLElement>(`[${ISLAND_ATTR}]`)) {
    const name = el.getAttribute(ISLAND_ATTR)!;
    const component = islands[name];
    if (!component) {
      console.error(`island ${name} is not in the bundle`);
      continue;
    }
    let props: Record<string, unknown>;
    try {
      props = JSON.parse(el.getAttribute(PROPS_ATTR) ?? "{}");
    } catch {
      console.error(`island ${name} has unreadable props`);
      continue;
    }
    hydrate(h(component, props), el);
    el.dataset.hydrated = "true";
  }
}
