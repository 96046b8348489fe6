// The console's audiences section: how each audience joins (shared code, personal invites or the
// organisation's sign-in), the shared link and rotating its code, and personal invites (issue a
// number of links or one per e-mail address, download them once as CSV, see which were used,
// revoke unused ones).

import { h, replace, announce } from '../dom.js';
import { t, dateTime } from '../i18n.js';
import { api, enc } from '../api.js';
import { errorBox, busy } from './common.js';

const ADMISSIONS = ['code', 'invite', 'sso'];

/** A download link for `text` as a CSV file named `name` (the links are shown only this once). */
function csvLink(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  return h('a', { href: url, download: name, class: 'button', dataset: { role: 'invites-csv' } }, t('invites_download'));
}

/** One audience's row; `onChange(audience)` after its admission or code changed. */
function audienceCard(slug, audience, onChange) {
  const base = `/jams/${enc(slug)}/audiences/${enc(audience.name)}`;
  const key = audience.name.replace(/[^a-zA-Z0-9_-]/g, '_');
  const status = h('div', { 'aria-live': 'polite' });
  const say = (...nodes) => status.replaceChildren(...nodes);

  // How it admits.
  const select = h('select', { id: `admission-${key}`, dataset: { role: 'admission' } },
    ADMISSIONS.map((a) => h('option', { value: a, selected: a === audience.admission }, t(`admission_${a}`))));
  const save = h('button', { type: 'button', dataset: { role: 'save-admission' } }, t('save'));
  save.addEventListener('click', async () => {
    busy(save, true);
    try {
      const updated = await api.patch(base, { admission: select.value });
      onChange({ ...audience, ...updated });
      announce(t('admission_saved', { audience: audience.name }));
    } catch (err) { say(errorBox(err)); } finally { busy(save, false); }
  });

  const body = [];
  if (audience.admission === 'code') {
    const url = audience.join_path ? new URL(audience.join_path, location.origin).href : '';
    const rotate = h('button', { type: 'button', class: 'danger', dataset: { role: 'rotate-code' } }, t('rotate_code'));
    rotate.addEventListener('click', async () => {
      if (!window.confirm(t('confirm_rotate_code', { audience: audience.name }))) return;
      busy(rotate, true);
      try {
        const rotated = await api.post(`${base}/rotate-code`);
        onChange({ ...audience, invite_code: rotated.invite_code, join_path: rotated.join_path });
        announce(t('code_rotated', { audience: audience.name }));
      } catch (err) { say(errorBox(err)); busy(rotate, false); }
    });
    body.push(h('p', {}, url ? h('a', { href: url, class: 'invite-link', dataset: { audience: audience.name } }, url) : t('no_invite')),
      h('p', { class: 'hint' }, t('rotate_code_hint')), rotate);
  } else if (audience.admission === 'invite') {
    body.push(invitesPanel(base, audience, key, say));
  } else {
    body.push(h('p', { class: 'hint' }, t('admission_sso_hint')));
  }

  return h('li', { class: 'card audience', dataset: { audience: audience.name, admission: audience.admission } },
    h('h3', {}, audience.name),
    h('div', { class: 'field inline' }, h('label', { for: `admission-${key}` }, t('admission')), select, ' ', save),
    ...body, status);
}

/** Issuing, listing and revoking an `invite` audience's personal invites. */
function invitesPanel(base, audience, key, say) {
  const list = h('div', { dataset: { role: 'invite-list' } });
  const count = h('input', { id: `invite-count-${key}`, type: 'number', min: 1, value: 10, inputmode: 'numeric' });
  const emails = h('textarea', { id: `invite-emails-${key}`, rows: 3, 'aria-describedby': `invite-emails-${key}-hint` });
  const issue = h('button', { type: 'submit', class: 'primary' }, t('invites_issue'));
  const issued = h('div', { 'aria-live': 'polite', dataset: { role: 'issued' } });
  const form = h('form', { class: 'form', dataset: { role: 'issue-invites' }, novalidate: true },
    h('div', { class: 'field' }, h('label', { for: `invite-count-${key}` }, t('invites_count')), count),
    h('div', { class: 'field' }, h('label', { for: `invite-emails-${key}` }, t('invites_emails')),
      h('p', { id: `invite-emails-${key}-hint`, class: 'hint' }, t('invites_emails_hint')), emails),
    issue, issued);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const addresses = emails.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    const request = addresses.length ? { emails: addresses } : { count: Number(count.value) };
    busy(issue, true);
    issued.replaceChildren();
    try {
      const csv = await api.postText(`${base}/invites`, request);
      const n = Math.max(0, csv.trim().split('\n').length - 1);
      issued.replaceChildren(h('p', { role: 'status' }, t('invites_issued', { n }), ' ', csvLink(csv, `invites-${key}.csv`)));
      emails.value = '';
      await load();
    } catch (err) { issued.replaceChildren(errorBox(err)); } finally { busy(issue, false); }
  });

  async function revoke(invite, btn) {
    busy(btn, true);
    try {
      await api.post(`${base}/invites/${enc(invite.id)}/revoke`);
      announce(t('invite_revoked_done'));
      await load();
    } catch (err) { say(errorBox(err)); busy(btn, false); }
  }

  async function load() {
    let data;
    try { data = await api.get(`${base}/invites`); } catch (err) { replace(list, errorBox(err)); return; }
    const rows = data.items.map((i) => {
      const cell = (text) => h('td', {}, text ?? '');
      let action = '';
      if (i.state === 'unused') {
        action = h('button', { type: 'button', dataset: { role: 'revoke-invite' } }, t('revoke'));
        action.addEventListener('click', () => revoke(i, action));
      }
      const mail = i.mail_status ? t(`mail_${i.mail_status}`) + (i.mail_error ? ` (${i.mail_error})` : '') : '';
      return h('tr', { dataset: { inviteId: i.id, state: i.state } },
        cell(t(`invite_is_${i.state}`)), cell(i.email || '—'), cell(mail), cell(dateTime(i.created_at)),
        cell(i.redeemed_at ? dateTime(i.redeemed_at) : ''), h('td', {}, action));
    });
    replace(list,
      h('p', { dataset: { role: 'invite-counts' } }, t('invites_counts', { used: data.used, unused: data.unused, revoked: data.revoked })),
      rows.length ? h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden' }, t('invites_table', { audience: audience.name })),
        h('thead', {}, h('tr', {}, [t('invite_state'), t('email'), t('invite_mail'), t('invite_created'), t('invite_redeemed'), t('actions')]
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)) : null);
  }
  load();
  return h('div', {}, h('p', { class: 'hint' }, t('invites_hint')), form, list);
}

/** The audiences section of a jam; `jam.audiences` is kept up to date as they change. */
export function audiencesPanel(slug, jam) {
  const el = h('ul', { class: 'plain audiences' });
  function paint() {
    replace(el, jam.audiences.map((a, i) => audienceCard(slug, a, (updated) => {
      jam.audiences[i] = updated;
      paint();
    })));
  }
  paint();
  return { el, paint };
}
