// Signing in with the organisation's account (OpenID Connect): the join page of an `sso` audience
// (`/j/{slug}?audience=…`) and the staff sign-in choices. The button is a plain link to jamd's start
// route (the router leaves /api/ links alone): the browser goes to the provider and comes back
// signed in, to the jam's page or the console.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { api, enc } from '../api.js';
import { page } from './common.js';

/** What this deployment offers: {organisation_participants, organisation_staff, password}. */
export async function signInOptions() {
  try {
    return await api.get('/auth/oidc');
  } catch {
    return { organisation_participants: false, organisation_staff: false, password: true };
  }
}

function organisationButton(href) {
  return h('a', { href, class: 'button primary', id: 'sso-sign-in' }, t('sso_sign_in'));
}

export async function ssoJoinView({ slug }, query) {
  const audience = query.get('audience') || '';
  const options = await signInOptions();
  const start = `/api/v1/auth/oidc/start?jam=${enc(slug)}${audience ? `&audience=${enc(audience)}` : ''}`;
  const el = page(t('sso_join_title'),
    options.organisation_participants
      ? h('div', { class: 'card form narrow' },
        h('p', { class: 'lead' }, t('sso_join_lead')),
        h('p', { class: 'muted' }, t('sso_join_guidelines')),
        h('p', {}, organisationButton(start)))
      : h('p', { class: 'alert alert-error', role: 'alert' }, t('sso_unavailable')));
  return { el, title: t('sso_join_title') };
}

/** The staff sign-in page's choices: the organisation button when staff may use it, and the
 * password form (`form()`) unless password sign-in is off. */
export async function staffSignIn(form) {
  const options = await signInOptions();
  return [
    options.organisation_staff
      ? h('p', {}, organisationButton('/api/v1/auth/oidc/start'))
      : null,
    options.organisation_staff && options.password ? h('p', { class: 'muted' }, t('sso_or_password')) : null,
    options.password ? form() : null,
  ];
}
