// The page: plain DOM modules, no build step, talking to the JSON API of the same server. This one waits for the
// server, fills the class lists, switches between the views and wires each of them.
import { wireDescribe } from './describe.js';
import { findDuplicates, wireDuplicates } from './duplicates.js';
import { loadGallery, wireGallery } from './gallery.js';
import { wireSearch } from './search.js';
import { $, api, explain, server, showMessage } from './shared.js';
import { loadTrash, wireTrash } from './trash.js';

// What the running demo does, and the setting that turns on what it does not.
function describeDemo(f) {
  const can = ['search by a picture'];
  const off = [];
  if (f.textSearch) can.push('search by words, in English or Chinese');
  else off.push('words (start with LOOKALIKE_EMBED_MODEL=demo)');
  if (f.describe) can.push('describe a picture, in English or Chinese, and answer follow-ups');
  else off.push('describe (start with LOOKALIKE_TEXT_MODEL=demo)');
  if (f.rerank) can.push('re-rank results');
  return `This demo can: ${can.join('; ')}.${off.length ? ` Off: ${off.join('; ')}.` : ''}`;
}

async function waitUntilReady() {
  for (;;) {
    try {
      const h = await api('/api/health');
      server.health = h;
      $('status').textContent = `${h.gallery.images} images · model ${h.model.fileName} (${h.model.dim} dims)`;
      $('demo-banner').hidden = !h.demo;
      $('demo-can').textContent = describeDemo(h.features);
      $('rerank-label').hidden = !h.features.rerank;
      $('describe').hidden = !h.features.describe;
      $('conversation').hidden = !h.features.describe;
      $('words').hidden = !h.features.textSearch;
      return h;
    } catch (err) {
      // health answers 503 while loading, and with status "error" and the reason when the start failed
      const failed = err.code === 'startup_failed' || err.body?.status === 'error';
      const b = err.body?.building; // the demo gallery's first build: the count the terminal shows
      $('status').textContent = failed
        ? `failed to start: ${err.message} (see the server log; fix the setting and restart)`
        : b ? `building the demo gallery: ${b.done} of ${b.total} pictures (${Math.floor((100 * b.done) / b.total)}%)`
          : 'loading the model and gallery…';
      await new Promise((r) => setTimeout(r, b ? 500 : 1500));
    }
  }
}

async function loadLabels() {
  const stats = await api('/api/stats');
  for (const select of [$('label'), $('f-label')]) {
    for (const { label, count } of stats.labels) {
      const opt = document.createElement('option');
      opt.value = label;
      opt.textContent = `${label} (${count})`;
      select.append(opt);
    }
  }
}

const VIEWS = ['search', 'duplicates', 'trash'];

function showView(name) {
  for (const view of VIEWS) $(`view-${view}`).setAttribute('aria-pressed', String(view === name));
  $('duplicates').hidden = name !== 'duplicates';
  $('trash').hidden = name !== 'trash';
  for (const id of ['search-view', 'results-view', 'gallery-section']) $(id).hidden = name !== 'search';
  // one API key box (kept for the tab), in the view that is shown
  $({ search: 'add-button', duplicates: 'dup-find', trash: 'trash-restore-all' }[name]).before($('api-key'));
  if (name === 'duplicates' && !$('dup-groups').children.length) findDuplicates();
  if (name === 'trash') loadTrash();
}

wireSearch();
wireDescribe();
wireGallery();
wireDuplicates();
wireTrash();
for (const view of VIEWS) $(`view-${view}`).addEventListener('click', () => showView(view));
await waitUntilReady();
await loadLabels().catch((err) => showMessage(...explain(err)));
await loadGallery(true);
document.body.dataset.ready = 'true';
