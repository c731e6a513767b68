// Following the core: a screen names the changes it shows and how to re-read them. A burst of
// changes (a sync's pages, a run of the visit's events) makes at most one read running and one
// more after it, so the page never floods the core and never shows a stale answer last.
import type { Backend, Change } from "./backend";

export function follow(backend: Backend, kinds: Change[], reread: () => unknown): () => void {
  let running = false;
  let again = false;
  async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await reread();
      } while (again);
    } finally {
      running = false;
    }
  }
  return backend.onChange((what) => {
    if (kinds.includes(what)) void run();
  });
}
