/** Attribute naming the island on its marker element (server and browser agree on it). */
export const ISLAND_ATTR = "data-island";
/** Attribute carrying the island's JSON props. */
export const PROPS_ATTR = "data-island-props";
