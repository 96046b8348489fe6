// Impressions (issue 17): which ideas a participant saw. An idea counts once at least half of its
// card was on screen for at least a second; the ids are sent in batches every 5 s (and when the page
// is hidden or left) to POST /jams/{slug}/impressions. The server keeps one per participant and
// idea, so a resend after a failure costs nothing.

import { api, enc } from './api.js';

const VISIBLE_FOR_MS = 1000;
const FLUSH_EVERY_MS = 5000;
/** The server's default `impressions.max_ids`. */
const BATCH_MAX = 200;

/** A tracker for one jam: `observe(el, ideaId)` each card; `stop()` flushes and ends. */
export function impressionTracker(slug) {
  const reported = new Set();
  const queued = new Set();
  /** element → { id, timer } while at least half visible. */
  const watching = new Map();
  const ids = new WeakMap();

  async function flush() {
    if (queued.size === 0) return;
    const batch = [...queued].slice(0, BATCH_MAX);
    for (const id of batch) queued.delete(id);
    try {
      await api.post(`/jams/${enc(slug)}/impressions`, { idea_ids: batch });
    } catch (err) {
      // A closed jam takes none (409); otherwise try again with the next batch.
      if (err.status !== 409 && err.status !== 422) for (const id of batch) queued.add(id);
    }
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = ids.get(entry.target);
      if (!id || reported.has(id)) continue;
      if (entry.intersectionRatio >= 0.5) {
        if (watching.has(entry.target)) continue;
        const timer = setTimeout(() => {
          watching.delete(entry.target);
          reported.add(id);
          queued.add(id);
          observer.unobserve(entry.target);
        }, VISIBLE_FOR_MS);
        watching.set(entry.target, timer);
      } else if (watching.has(entry.target)) {
        clearTimeout(watching.get(entry.target));
        watching.delete(entry.target);
      }
    }
  }, { threshold: [0, 0.5] });

  const interval = setInterval(flush, FLUSH_EVERY_MS);
  const onHide = () => { if (document.visibilityState === 'hidden') flush(); };
  document.addEventListener('visibilitychange', onHide);

  return {
    observe(el, ideaId) {
      if (reported.has(ideaId)) return;
      ids.set(el, ideaId);
      observer.observe(el);
    },
    flush,
    stop() {
      clearInterval(interval);
      document.removeEventListener('visibilitychange', onHide);
      for (const timer of watching.values()) clearTimeout(timer);
      observer.disconnect();
      flush();
    },
  };
}
