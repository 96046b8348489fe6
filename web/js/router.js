// Client-side routes: the server answers index.html for every page path; this picks the view,
// tears down the previous one (its live subscriptions and timers) and moves focus to the new heading.

import { clear } from './dom.js';

const routes = [];
let current = null;
let outlet = null;

/** `path` like '/j/:slug/s/:id'; `view(params, query)` returns {el, title?, destroy?} or a Promise of it. */
export function route(path, view) {
  const names = [];
  const pattern = new RegExp(`^${path.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}/?$`);
  routes.push({ pattern, names, view });
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

export async function render() {
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  let match = null;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      match = { r, params };
      break;
    }
  }
  if (current?.destroy) current.destroy();
  current = null;
  const token = {};
  render.token = token;
  const view = match ? match.r.view : routes.notFound;
  const result = await view(match ? match.params : {}, query);
  if (render.token !== token) { result?.destroy?.(); return; } // navigated away meanwhile
  current = result;
  clear(outlet).append(result.el);
  if (result.title) document.title = `${result.title} · OpenJam`;
  const heading = outlet.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
  document.dispatchEvent(new CustomEvent('openjam:navigated'));
}

export function notFound(view) { routes.notFound = view; }

/** Re-render the current page (language switch). */
export function refresh() { render(); }

export function start(el) {
  outlet = el;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (a.pathname.startsWith('/api/')) return;
    if (a.hash && a.pathname === location.pathname && a.search === location.search) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
  render();
}
