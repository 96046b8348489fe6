// Pieces several views share: page frame, errors, state badges, links, the jam a page belongs to.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { ApiError } from '../api.js';

export const paths = {
  lobby: (slug) => `/j/${encodeURIComponent(slug)}`,
  session: (slug, id) => `/j/${encodeURIComponent(slug)}/s/${id}`,
  idea: (slug, id) => `/j/${encodeURIComponent(slug)}/i/${id}`,
  inbox: (slug) => `/j/${encodeURIComponent(slug)}/inbox`,
  search: (slug, q) => `/j/${encodeURIComponent(slug)}/search${q ? `?q=${encodeURIComponent(q)}` : ''}`,
  console: () => '/console',
  consoleJam: (slug) => `/console/j/${encodeURIComponent(slug)}`,
  results: (slug) => `/results/${encodeURIComponent(slug)}`,
};

/** A page whose first element is its h1. */
export function page(title, ...children) {
  return h('section', { class: 'page' }, h('h1', {}, title), ...children);
}

/** What went wrong, in words for people. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error_generic');
  if (err.network) return t('error_network');
  switch (err.status) {
    case 401: return t('error_401');
    case 403: return t('error_403');
    case 404: return t('error_404');
    case 409: return err.detail ? t('error_409_detail', { detail: err.detail }) : t('error_409');
    case 413: return t('error_413');
    case 422: return err.detail || t('error_422');
    case 429: return t('error_429');
    case 503: return t('error_503');
    default: return t('error_generic');
  }
}

export function errorBox(err) {
  return h('p', { class: 'alert alert-error', role: 'alert' }, errorText(err));
}

export function errorPage(err) {
  return { el: page(t('error_title'), errorBox(err), h('p', {}, h('a', { href: '/' }, t('home')))), title: t('error_title') };
}

export function stateBadge(kind, state) {
  return h('span', { class: `badge badge-${state}`, dataset: { state } }, t(`${kind}_state_${state}`));
}

export function busy(button, on) {
  button.disabled = on;
  button.setAttribute('aria-busy', on ? 'true' : 'false');
}

/** Milliseconds to add to Date.now() to get the server's clock. */
export function skewFrom(serverNow) {
  return serverNow ? new Date(serverNow).getTime() - Date.now() : 0;
}
