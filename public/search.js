// Search: by an uploaded picture (with its predicted class), by words, or "find similar" from a result or the
// gallery; the results grid, taking results away as a ZIP, and adding the picture to the gallery.
import { resetConversation } from './describe.js';
import { $, api, askForKey, card, current, explain, filterFields, keyHeaders, server, showMessage } from './shared.js';

// The answer to go by (`answer`: the trusted method's, unknown far from every labelled picture), and which method
// gave it.
const METHOD_NAMES = { knn: 'nearest neighbours', probe: 'linear probe', 'zero-shot': 'zero-shot' };
function renderPrediction(c) {
  const box = $('prediction');
  const a = c?.answer;
  if (!a) { box.hidden = true; return; }
  box.hidden = false;
  box.className = `prediction${a.unknown ? ' unknown' : ''}`;
  box.replaceChildren();
  const label = document.createElement('div');
  label.className = 'label';
  label.dataset.testid = 'predicted-label';
  label.textContent = a.unknown ? 'unknown' : a.label;
  const detail = document.createElement('div');
  detail.dataset.testid = 'predicted-detail';
  const support = a.from === 'knn' ? ` from ${c.neighbours.length} neighbours` : '';
  detail.textContent = a.unknown
    ? `closest class ${a.candidate ?? '–'} (${a.reason})`
    : `${METHOD_NAMES[a.from]}: ${(100 * a.confidence).toFixed(0)}%${support}`;
  box.append(label, detail);
}

// The models that re-rank: the badge's word, its title, and the results title's words.
const JUDGES = {
  instruct: ['Instruct',
    'P(yes) from the Instruct VL model (LOOKALIKE_TEXT_MODEL): do the two show the same kind of thing?',
    'the Instruct model'],
  reranker: ['Reranker',
    'P(yes) from the reranker (LOOKALIKE_RERANK_MODEL): does this picture match the query?', 'the reranker'],
};

function rerankedTitle(rerank) {
  if (!rerank) return '';
  const budget = rerank.complete ? '' : ' (time budget reached)';
  return `, ${rerank.reranked} re-ranked by ${JUDGES[rerank.judge][2]}${budget}`;
}

function renderResults(results, title, { details = null, rerank = null, note = '' } = {}) {
  $('results-title').hidden = false;
  $('results-title').textContent = results.length ? title : 'No results';
  $('results-note').textContent = note;
  $('results-note').hidden = !note;
  renderDetails(details);
  $('results').replaceChildren(...results.map((r) => {
    const { li, meta } = card(r, r.score.toFixed(3), 'score', r.label ?? '', r.source ?? '');
    if (rerank && r.rerankScore !== undefined && r.rerankScore !== null) {
      const [word, title] = JUDGES[rerank.judge];
      const rr = document.createElement('span');
      rr.className = 'rerank';
      rr.title = title;
      rr.textContent = `${word} ${r.rerankScore.toFixed(2)}`;
      meta.append(rr);
    }
    const similar = document.createElement('button');
    similar.type = 'button';
    similar.textContent = 'Find similar';
    similar.addEventListener('click', () => findSimilar(r));
    li.append(similar, selectBox(r));
    return li;
  }));
  updateDownload();
}

// Ticked results download as one ZIP of their thumbnails (the server keeps no originals; npm run search --
// --copy-to takes an indexed folder's originals).
function selectBox(r) {
  const label = document.createElement('label');
  label.className = 'pick';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.value = r.id;
  box.addEventListener('change', updateDownload);
  label.append(box, ' select');
  return label;
}

function updateDownload() {
  const ids = [...document.querySelectorAll('#results .pick input:checked')].map((b) => b.value);
  const link = $('download-zip');
  link.hidden = !ids.length;
  link.textContent = `Download ${ids.length} selected (zip of thumbnails)`;
  link.href = `/api/thumbnails.zip?ids=${ids.join(',')}`;
}

function formOptions() {
  return { k: $('k').value || '12', label: $('label').value, ...filterFields() };
}

const TAKEN_FROM = { exif: 'EXIF', file: 'file date', upload: 'upload time', added: 'date added' };

// An image's metadata, shown above its similar pictures.
function renderDetails(r) {
  const box = $('details');
  box.hidden = !r;
  if (!r) return;
  const camera = [r.cameraMake, r.cameraModel].filter(Boolean).join(' ');
  const rows = [
    ['file', r.source ?? '–'], ['label', r.label ?? '–'],
    ['taken', `${r.takenAt} (${TAKEN_FROM[r.takenFrom] ?? r.takenFrom})`],
    ['camera', camera || '–'], ['lens', r.lens ?? '–'],
    ['GPS', r.latitude !== null ? `${r.latitude.toFixed(5)}, ${r.longitude.toFixed(5)}` : '–'],
    ['size', `${r.width} × ${r.height}, ${(r.bytes / 1024).toFixed(1)} KB`], ['added', r.addedAt],
  ];
  box.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dd.dataset.field = k;
    return [dt, dd];
  }));
}

// On a phone the results are below the query's controls, out of sight: bring them into view.
function revealResults() {
  if (window.matchMedia('(max-width: 640px)').matches) $('results-title').scrollIntoView({ block: 'start' });
}

// A words query far from everything: its best score is below the least a class name reaches on its own class
// (measured for the demo embedding model; health's wordsFloor, null when not measured).
function farNote(text, results) {
  const floor = server.health?.wordsFloor ?? null;
  const best = results[0]?.score;
  if (floor === null || best === undefined || best >= floor) return '';
  return `Nothing here is close to "${text}": its best score, ${best.toFixed(3)}, is below ${floor}, ` +
    'the least a class name reaches on its own class.';
}

function showPreview(src) {
  $('preview').src = src;
  $('preview').hidden = false;
  $('drop-text').hidden = true;
}

async function search(file) {
  current.file = file;
  $('again').disabled = false;
  $('describe-button').disabled = false;
  $('add-button').disabled = false;
  $('add-state').textContent = '';
  for (const id of ['description', 'describe-progress', 'describe-note']) $(id).textContent = '';
  resetConversation(); // a new image: a new conversation
  showPreview(URL.createObjectURL(file));
  showMessage('');
  const { k, label, ...filters } = formOptions();
  const body = new FormData();
  body.append('image', file);
  body.append('k', k);
  body.append('classify', 'true');
  if (label) body.append('label', label);
  for (const [field, value] of Object.entries(filters)) body.append(field, value);
  if ($('rerank').checked && !$('rerank-label').hidden) body.append('rerank', 'true');
  $('status').dataset.busy = 'true';
  try {
    const out = await api('/api/search', { method: 'POST', body });
    renderPrediction(out.classification);
    const title = `Most similar (${out.tookMs.toFixed(0)} ms${rerankedTitle(out.rerank)})`;
    renderResults(out.results, title, { rerank: out.rerank });
    revealResults();
  } catch (err) {
    showMessage(...explain(err));
  } finally {
    delete $('status').dataset.busy;
  }
}

// Search by words (an embedding model is loaded): the same results grid, no query picture.
async function searchWords() {
  const text = $('words-text').value.trim();
  if (!text) return;
  showMessage('');
  const { k, label, ...filters } = formOptions();
  const body = { text, k: Number(k), ...filters };
  if (label) body.label = label;
  if ($('rerank').checked && !$('rerank-label').hidden) body.rerank = true;
  try {
    const headers = { 'content-type': 'application/json' };
    const out = await api('/api/search', { method: 'POST', headers, body: JSON.stringify(body) });
    renderPrediction(null);
    $('preview').hidden = true;
    $('drop-text').hidden = false;
    const title = `Matching "${text}" (${out.tookMs.toFixed(0)} ms${rerankedTitle(out.rerank)})`;
    renderResults(out.results, title, { rerank: out.rerank, note: farNote(text, out.results) });
    revealResults();
  } catch (err) {
    showMessage(...explain(err));
  }
}

/** "Find similar" from a result, or a click on a gallery picture (which also shows its metadata). */
export async function findSimilar(r, withDetails = false) {
  showMessage('');
  const { k, label, ...filters } = formOptions();
  const q = new URLSearchParams({ k, ...filters });
  if (label) q.set('label', label);
  try {
    const out = await api(`/api/images/${r.id}/similar?${q}`);
    renderPrediction(null);
    showPreview(r.thumbnailUrl);
    renderResults(out.results, `Similar to ${r.source ?? `image ${r.id}`}`, { details: withDetails ? r : null });
    if (withDetails) $('results-title').scrollIntoView({ block: 'start' });
  } catch (err) {
    showMessage(...explain(err));
  }
}

// Adds the current photo to the gallery. With workers (Redis) the server answers 202 and a job: its state is shown
// until the image is stored or the job failed.
async function addToGallery() {
  if (!current.file) return;
  const body = new FormData();
  body.append('image', current.file);
  const label = $('add-label').value.trim();
  if (label) body.append('label', label);
  const state = $('add-state');
  state.textContent = 'adding…';
  $('add-button').disabled = true;
  try {
    const out = await api('/api/images', { method: 'POST', body, headers: keyHeaders() });
    if (!out.statusUrl) { // stored at once (201), or already there (200); 202 gives a job to follow
      state.textContent = out.duplicate
        ? `already in the gallery as #${out.id}${out.relabelled ? ', relabelled' : ''}` : `added as #${out.id}`;
      return;
    }
    for (;;) {
      const job = await api(out.statusUrl);
      state.dataset.state = job.state;
      state.textContent = job.state === 'done' ? `added as #${job.imageId}`
        : job.state === 'failed' ? `failed: ${job.error}` : `${job.state}…`;
      if (job.state === 'done' || job.state === 'failed') return;
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    state.textContent = '';
    if (err.status === 401 || err.code === 'forbidden') askForKey(err);
    else showMessage(...explain(err));
  } finally {
    $('add-button').disabled = false;
  }
}

function pickImage(files) {
  const file = [...(files ?? [])].find((f) => f.type.startsWith('image/') || f.type === '');
  if (file) search(file);
  else showMessage('That is not an image file.');
}

export function wireSearch() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => pickImage(e.target.files));
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); }
  });
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); pickImage(e.dataTransfer?.files); });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => i.getAsFile());
    if (files.length) pickImage(files);
  });
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); if (current.file) search(current.file); });
  $('words').addEventListener('submit', (e) => { e.preventDefault(); searchWords(); });
  $('add').addEventListener('submit', (e) => { e.preventDefault(); addToGallery(); });
}
