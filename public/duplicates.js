// Duplicates: groups from GET /api/duplicates; per group, pick the one to keep (the server's suggestion first) and
// keep them all (the default), or delete (after a confirm that says how many) or relabel the others that are alike to
// the keeper, with one POST /api/duplicates/resolve.
import { $, api, askForKey, card, explain, keyHeaders, showMessage } from './shared.js';

export async function findDuplicates() {
  showMessage('');
  const threshold = $('dup-threshold').value;
  $('dup-summary').textContent = 'looking…';
  $('dup-find').disabled = true; // the server runs one scan at a time
  try {
    const q = new URLSearchParams({ ...(threshold ? { threshold } : {}), limit: '200' });
    const out = await api(`/api/duplicates?${q}`);
    // the server's threshold, unless another was typed meanwhile
    if ($('dup-threshold').value === threshold) $('dup-threshold').value = String(out.threshold);
    const shown = out.total > out.groups.length ? ` (the first ${out.groups.length} shown)` : '';
    $('dup-summary').textContent = out.total ? `${out.total} groups${shown}` : 'no duplicates at this similarity';
    $('dup-groups').replaceChildren(...out.groups.map((g, n) => renderGroup(g, n, out.threshold)));
  } catch (err) {
    $('dup-summary').textContent = '';
    showMessage(...explain(err));
  } finally {
    $('dup-find').disabled = false;
  }
}

function renderGroup(g, n, threshold) {
  const li = document.createElement('li');
  li.className = 'dup-group';
  const h = document.createElement('h3');
  h.textContent = `${g.kind === 'exact' ? 'Exact copies' : 'Near duplicates'}: ${g.members.length} images`;
  const cards = document.createElement('ol');
  cards.className = 'results';
  const badges = new Map();
  // the scores against the picked keeper, from the group's similarities: a member under the threshold stays whatever
  // Apply does (identical vectors may sum to a hair under 1, hence the tolerance)
  const pick = (id) => {
    li.dataset.keep = id;
    const k = g.members.findIndex((m) => m.id === id);
    g.members.forEach((m, j) => {
      const c = cards.children[j];
      const score = g.similarities[k][j];
      const alike = j === k || score >= threshold - 1e-6;
      c.classList.toggle('keep', j === k);
      c.classList.toggle('below', !alike);
      c.dataset.alike = String(alike && j !== k);
      const badge = badges.get(m.id);
      badge.textContent = j === k ? 'keep' : id === g.keep && m.exact ? 'exact' : score.toFixed(3);
      badge.title = alike ? '' : `under ${threshold} to the image to keep: it stays`;
      c.querySelector('.stays').hidden = alike;
    });
    updateApply();
  };
  cards.append(...g.members.map((m) => {
    const size = `${m.width}x${m.height}${m.label ? ` · ${m.label}` : ''}`;
    const { li: member, meta } = card(m, '', 'score', size, m.source ?? '');
    badges.set(m.id, meta.querySelector('.score'));
    const stays = document.createElement('span');
    stays.className = 'stays';
    stays.textContent = 'not alike to this keeper: stays';
    stays.hidden = true;
    const keep = document.createElement('label');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = `keep-${n}`;
    radio.value = m.id;
    radio.checked = m.id === g.keep;
    radio.addEventListener('change', () => pick(m.id));
    keep.append(radio, ' keep this one');
    member.append(stays, keep);
    return member;
  }));
  const actions = document.createElement('form');
  actions.className = 'dup-actions';
  actions.autocomplete = 'off'; // a choice is made for this group, now: never restored from an earlier visit
  const action = document.createElement('select');
  action.setAttribute('aria-label', 'what to do with the others');
  action.append(new Option('keep them all', 'keep', true, true), new Option('delete the others', 'delete'),
    new Option('relabel the others', 'relabel'));
  const label = document.createElement('input');
  label.placeholder = 'new label (empty: none)';
  label.setAttribute('aria-label', 'new label');
  label.hidden = true;
  const apply = document.createElement('button');
  apply.type = 'submit';
  apply.textContent = 'Apply';
  const alikeIds = () => [...cards.children].filter((c) => c.dataset.alike === 'true').map((c) => Number(c.dataset.id));
  function updateApply() {
    apply.disabled = action.value === 'keep' || alikeIds().length === 0;
  }
  action.addEventListener('change', () => { label.hidden = action.value !== 'relabel'; updateApply(); });
  actions.append(action, label, apply);
  actions.addEventListener('submit', (e) => {
    e.preventDefault();
    resolveGroup(li, alikeIds(), action.value, label.value.trim());
  });
  li.append(h, cards, actions);
  pick(g.keep);
  return li;
}

async function resolveGroup(li, others, action, label) {
  if (action === 'keep' || !others.length) return;
  const keep = Number(li.dataset.keep);
  const pictures = `${others.length} ${others.length === 1 ? 'picture' : 'pictures'}`;
  const asked = `Delete ${pictures} (${others.map((id) => `#${id}`).join(', ')}) and keep #${keep}?`;
  if (action === 'delete' && !window.confirm(asked)) return;
  const body = { keep, others, action };
  if (action === 'relabel') body.label = label || null;
  showMessage('');
  try {
    const headers = { 'content-type': 'application/json', ...keyHeaders() };
    const out = await api('/api/duplicates/resolve', { method: 'POST', headers, body: JSON.stringify(body) });
    li.remove();
    const ids = (list) => list.map((id) => `#${id}`).join(', ');
    $('dup-summary').textContent = `kept #${out.kept}; ${out.deleted.length
      ? `deleted ${ids(out.deleted)}` : `relabelled ${ids(out.relabelled)}`}`;
  } catch (err) {
    if (err.status === 401 || err.code === 'forbidden') {
      askForKey(err);
      if (err.status === 401) {
        showMessage('This server needs its API key to change the gallery: enter it, then "Apply" again ' +
          '(kept only while this tab is open).');
      }
    } else showMessage(...explain(err));
  }
}

export function wireDuplicates() {
  $('dup-controls').addEventListener('submit', (e) => { e.preventDefault(); findDuplicates(); });
}
