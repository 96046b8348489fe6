// Start-up: the header (language, connection state, who is signed in) and the routes.

import { h, replace } from './dom.js';
import { t, lang, setLang, onLangChange, LANGUAGES } from './i18n.js';
import { api, me } from './api.js';
import { onState } from './live.js';
import { route, notFound, start, refresh, navigate } from './router.js';
import { page } from './views/common.js';
import { joinView } from './views/join.js';
import { ssoJoinView } from './views/sso.js';
import { lobbyView } from './views/lobby.js';
import { sessionView } from './views/session.js';
import { ideaView } from './views/idea.js';
import { searchView } from './views/search.js';
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
route('/j/:slug/s/:id', sessionView);
route('/j/:slug/i/:id', ideaView);
route('/j/:slug/search', searchView);
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

async function paintUser() {
  const who = await me().catch(() => null);
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
  if (who.kind === 'staff') userBox.append(h('a', { href: '/console' }, t('console')));
  userBox.append(out);
}

langSelect.addEventListener('change', () => setLang(langSelect.value));
onLangChange(() => { paintHeader(); refresh(); });
onState(paintState);
document.addEventListener('openjam:me', paintUser);
paintHeader();
start(document.getElementById('main'));
