import type { Origin } from "./backend";

/** Where a value comes from, in words for the panels. */
export function describeOrigin(o: Origin): string {
  switch (o.kind) {
    case "mandatory":
      return `Set by your organisation (${o.source})`;
    case "recommended":
      return `Suggested by your organisation (${o.source}); you may change it`;
    case "user":
      return "Your choice";
    case "default":
      return "Default";
  }
}
