// Start-up: the header (language, connection state, who is signed in) and the routes.

import { h, replace } from './dom.js';
import { t, lang, setLang, onLangChange, LANGUAGES } from './i18n.js';
import { api, me } from './api.js';
import { onState, subscribe } from './live.js';
import { route, notFound, start, refresh, navigate } from './router.js';
import { page, paths } from './views/common.js';
import { joinView } from './views/join.js';
import { ssoJoinView } from './views/sso.js';
import { lobbyView } from './views/lobby.js';
import { sessionView } from './views/session.js';
import { ideaView } from './views/idea.js';
import { searchView } from './views/search.js';
import { inboxView } from './views/inbox.js';
import { themeView } from './views/themes.js';
import { consoleView, newJamView } from './views/console.js';
import { consoleJamView } from './views/console_jam.js';
import { staffView, participantsView } from './views/console_people.js';
import { resultsView } from './views/results.js';

function home() {
  return {
    el: page(t('app_name'),
      h('p', { class: 'lead' }, t('home_lead')),
      h('p', {}, t('home_invite')),
      h('p', {}, h('a', { href: '/console', class: 'button' }, t('console_link')))),
    title: t('app_name'),
  };
}

route('/', home);
route('/j/:slug', (p, q) => (q.get('code') ? joinView(p, q) : q.has('audience') ? ssoJoinView(p, q) : lobbyView(p, q)));
route('/j/:slug/join', joinView);
route('/j/:slug/s/:id', sessionView);
route('/j/:slug/i/:id', ideaView);
route('/j/:slug/search', searchView);
route('/j/:slug/inbox', inboxView);
route('/j/:slug/t/:id', themeView);
route('/console', consoleView);
route('/console/new', newJamView);
route('/console/j/:slug', consoleJamView);
route('/console/staff', staffView);
route('/console/j/:slug/participants', participantsView);
route('/results/:slug', resultsView);
notFound(() => ({ el: page(t('error_404'), h('p', {}, h('a', { href: '/' }, t('home')))), title: t('error_404') }));

// ---- header ----
const langSelect = document.getElementById('lang');
const status = document.getElementById('conn');
const userBox = document.getElementById('user');

function paintHeader() {
  document.getElementById('skip').textContent = t('skip_to_content');
  document.getElementById('lang-label').textContent = t('language');
  document.getElementById('brand').textContent = t('app_name');
  replace(langSelect, LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === lang(), lang: l.code }, l.name)));
  paintState(lastState);
  paintUser();
}

let lastState = 'idle';
function paintState(st) {
  lastState = st;
  status.dataset.state = st;
  status.textContent = st === 'idle' ? '' : t(`conn_${st}`);
  status.hidden = st === 'idle';
}

let paintToken = 0;
/** Stops the header's live inbox count. */
let inboxWatch = null;
async function paintUser() {
  const mine = ++paintToken;
  const who = await me().catch(() => null);
  if (mine !== paintToken) return; // a newer paint is under way
  inboxWatch?.();
  inboxWatch = null;
  replace(userBox);
  if (!who) return;
  const out = h('button', { type: 'button', class: 'link' }, t('sign_out'));
  out.addEventListener('click', async () => {
    try { await api.post('/auth/logout'); } catch { /* signed out anyway */ }
    await me(true);
    paintUser();
    navigate('/');
  });
  userBox.append(h('span', {}, who.display_name));
  if (who.kind === 'participant') paintInbox(who, mine);
  if (who.kind === 'staff') userBox.append(h('a', { href: '/console' }, t('console')));
  userBox.append(out);
}

// The inbox link with its unread count, for a participant on one of their jam's pages.
async function paintInbox(who, mine) {
  const m = /^\/j\/([^/]+)/.exec(location.pathname);
  if (!m) return;
  const slug = decodeURIComponent(m[1]);
  let unread = 0;
  const badge = h('span', { class: 'badge badge-unread', dataset: { role: 'unread-badge' }, hidden: true });
  const label = h('span', { class: 'visually-hidden' });
  const link = h('a', { href: paths.inbox(slug), dataset: { role: 'inbox-link' } }, t('inbox_title'), ' ', badge, label);
  const paint = () => {
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    label.textContent = unread ? t('inbox_unread', { count: unread }) : '';
    badge.setAttribute('aria-hidden', 'true');
  };
  userBox.prepend(link);
  try { unread = (await api.get('/me/notifications?limit=1')).unread; } catch { return; }
  if (mine !== paintToken) return;
  paint();
  const stopMe = subscribe(`me:${who.id}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'notification') { unread += 1; paint(); }
  });
  const stopJam = subscribe(`jam:${who.jam_id}`, (msg) => {
    if (msg.type === 'event' && msg.event.kind === 'announcement') { unread += 1; paint(); }
  });
  const onRead = (e) => { unread = e.detail; paint(); };
  document.addEventListener('openjam:unread', onRead);
  inboxWatch = () => { stopMe(); stopJam(); document.removeEventListener('openjam:unread', onRead); };
}
// Another page may belong to another jam, or to none.
document.addEventListener('openjam:navigated', () => paintUser());

langSelect.addEventListener('change', () => setLang(langSelect.value));
onLangChange(() => { paintHeader(); refresh(); });
onState(paintState);
document.addEventListener('openjam:me', paintUser);
paintHeader();
start(document.getElementById('main'));
