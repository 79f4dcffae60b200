/**
 * Server side of islands: while rendering, any component from `islands/` is
 * wrapped in a marker element that names it and carries its props, so the
 * browser bundle ({@link ./hydrate.ts}) can hydrate it in place.
 *
 * Props must be JSON-serializable. They travel in an HTML attribute, which the
 * renderer escapes and the browser unescapes, so no prop (not even
 * `</script>`) can break out of it.
 *
 * @module
 */

import {
  type ComponentChildren,
  type ComponentType,
  createContext,
  h,
  options,
  type VNode,
} from "preact";
import { useContext } from "preact/hooks";
import { ISLAND_ATTR, PROPS_ATTR } from "./island_attrs.ts";
import type { IslandModule } from "./types.ts";

const islandNames = new Map<ComponentType<unknown>, string>();
let rendering = 0;

/**
 * Serializes island props to the JSON text placed in {@link PROPS_ATTR}.
 * Rejects values JSON cannot carry instead of silently dropping them.
 */
export function serializeProps(props: Record<string, unknown>): string {
  return JSON.stringify(props, (_key, value) => {
    if (
      typeof value === "function" || typeof value === "symbol" ||
      typeof value === "bigint"
    ) {
      throw new TypeError(
        `island props must be JSON values, got a ${typeof value}`,
      );
    }
    return value;
  });
}

interface MarkerProps {
  name: string;
  component: ComponentType<Record<string, unknown>>;
  props: Record<string, unknown>;
  children?: ComponentChildren;
}

/** True below an island's marker: islands there are part of their parent. */
const InsideIsland = createContext(false);

function IslandMarker(
  { name, component, props, children }: MarkerProps,
  // deno-lint-ignore no-explicit-any
): VNode<any> {
  // An island inside an island is hydrated by its parent: render it as the
  // plain component it is in the browser (children, functions and all).
  const nested = useContext(InsideIsland);
  rendering++;
  try {
    if (nested) return h(component, { ...props, children });
    return h(
      "div",
      { [ISLAND_ATTR]: name, [PROPS_ATTR]: serializeProps(props) },
      h(InsideIsland.Provider, { value: true }, h(component, props)),
    );
  } finally {
    rendering--;
  }
}

/**
 * Registers the island components so the renderer marks them. Called once by
 * {@link mountManifest}.
 */
export function registerIslands(islands: Record<string, IslandModule>): void {
  for (const [name, mod] of Object.entries(islands)) {
    islandNames.set(mod.default as ComponentType<unknown>, name);
  }
}

const previousVnodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  const name = islandNames.get(vnode.type as ComponentType<unknown>);
  // `rendering`: the component a marker renders is not wrapped again.
  if (name !== undefined && rendering === 0) {
    const { children, ...props } = vnode.props as Record<string, unknown>;
    vnode.props = { name, component: vnode.type, props, children } as never;
    vnode.type = IslandMarker as never;
  }
  previousVnodeHook?.(vnode);
};
