// Trash: what was deleted (GET /api/trash, with thumbnails), restored or deleted for good, one or all.
import { $, api, askForKey, card, explain, keyHeaders, showMessage } from './shared.js';

export async function loadTrash() {
  showMessage('');
  try {
    const out = await api('/api/trash?limit=1000');
    const shown = out.total > out.images.length ? ` (the last ${out.images.length} shown)` : '';
    $('trash-summary').textContent = out.total
      ? `${out.total} in the trash${shown}, each kept ${out.trashDays} days` : 'the trash is empty';
    $('trash-list').replaceChildren(...out.images.map((r) => {
      const until = `until ${new Date(r.expiresAt).toLocaleDateString()}`;
      const { li } = card(r, `#${r.id}`, 'score', until, r.source ?? '');
      const buttons = document.createElement('div');
      buttons.className = 'dup-actions';
      for (const [what, text] of [['restore', 'Restore'], ['empty', 'Delete for good']]) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = text;
        b.addEventListener('click', () => changeTrash(what, [r.id]));
        buttons.append(b);
      }
      li.append(buttons);
      return li;
    }));
  } catch (err) {
    showMessage(...explain(err));
  }
}

// restore or empty: these ids, or (none) the whole trash
async function changeTrash(what, ids) {
  if (what === 'empty' && !ids && !window.confirm('Delete everything in the trash for good?')) return;
  try {
    const headers = { 'content-type': 'application/json', ...keyHeaders() };
    await api(`/api/trash/${what}`, { method: 'POST', headers, body: JSON.stringify(ids ? { ids } : {}) });
    await loadTrash();
  } catch (err) {
    if (err.status === 401 || err.code === 'forbidden') askForKey(err);
    else showMessage(...explain(err));
  }
}

export function wireTrash() {
  $('trash-restore-all').addEventListener('click', () => changeTrash('restore'));
  $('trash-empty').addEventListener('click', () => changeTrash('empty'));
}
