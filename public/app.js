// The upload-a-photo page: no build step, plain DOM. Talks to the JSON API of the same server.
const $ = (id) => document.getElementById(id);
let currentFile = null;

function showMessage(text, kind = 'error') {
  const el = $('message');
  el.textContent = text;
  el.className = `message ${kind}`;
  el.hidden = !text;
}

async function api(path, init) {
  const res = await fetch(path, init);
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    err.status = res.status;
    err.code = body?.error?.code;
    err.body = body;
    err.retryAfter = Number(res.headers.get('retry-after')) || null;
    throw err;
  }
  return body;
}

function explain(err) {
  if (err.status === 503 && err.code === 'busy') return [`The server is busy. ${err.retryAfter ? `Try again in about ${err.retryAfter} s.` : 'Try again shortly.'}`, 'busy'];
  if (err.status === 503) return [err.message, 'busy'];
  return [err.message, 'error'];
}

async function waitUntilReady() {
  for (;;) {
    try {
      const h = await api('/api/health');
      $('status').textContent = `${h.gallery.images} images · model ${h.model.fileName} (${h.model.dim} dims)`;
      $('demo-banner').hidden = !h.demo;
      $('rerank-label').hidden = !h.features.rerank;
      $('describe').hidden = !h.features.describe;
      $('conversation').hidden = !h.features.describe;
      $('words').hidden = !h.features.textSearch;
      return h;
    } catch (err) {
      // health answers 503 while loading, and with status "error" and the reason when the start failed
      const failed = err.code === 'startup_failed' || err.body?.status === 'error';
      $('status').textContent = failed ? `failed to start: ${err.message} (see the server log; fix the setting and restart)` : 'loading the model and gallery…';
      await new Promise((r) => setTimeout(r, 1500));
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

// A picture's card: its thumbnail, then a line of two spans (a score or a date first, then a label), with `title`s.
function card(r, first, firstClass, second, secondTitle) {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.id = r.id;
  const img = document.createElement('img');
  img.src = r.thumbnailUrl;
  img.alt = r.source ?? `image ${r.id}`;
  img.loading = 'lazy';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const a = document.createElement('span');
  a.className = firstClass;
  a.textContent = first;
  const b = document.createElement('span');
  b.className = 'lbl';
  b.textContent = second;
  b.title = secondTitle;
  meta.append(a, b);
  li.append(img, meta);
  return { li, meta };
}

function renderResults(results, title, details = null) {
  $('results-title').hidden = false;
  $('results-title').textContent = results.length ? title : 'No results';
  renderDetails(details);
  const list = $('results');
  list.replaceChildren(...results.map((r) => {
    const { li, meta } = card(r, r.score.toFixed(3), 'score', r.label ?? '', r.source ?? '');
    if (r.rerankScore !== undefined && r.rerankScore !== null) {
      const rr = document.createElement('span');
      rr.className = 'rerank';
      rr.title = 'P(yes) from the VL model';
      rr.textContent = `VL ${r.rerankScore.toFixed(2)}`;
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

// The gallery filters (folder, camera, dates) apply to searches as well; the class comes from the search controls.
function filterFields() {
  const out = {};
  for (const [field, id] of [['folder', 'f-folder'], ['camera', 'f-camera'], ['takenAfter', 'f-after'], ['takenBefore', 'f-before']]) {
    const value = $(id).value.trim();
    if (value) out[field] = value;
  }
  return out;
}

// --- Taking results away (issue 18 part 6): tick results, download their thumbnails as one ZIP (the server keeps
// no originals; npm run search -- --copy-to takes an indexed folder's originals)
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
// --- end of taking results away

function formOptions() {
  return { k: $('k').value || '12', label: $('label').value, ...filterFields() };
}

// An image's metadata, shown above its similar pictures.
function renderDetails(r) {
  const box = $('details');
  box.hidden = !r;
  if (!r) return;
  const camera = [r.cameraMake, r.cameraModel].filter(Boolean).join(' ');
  const rows = [
    ['file', r.source ?? '–'], ['label', r.label ?? '–'],
    ['taken', `${r.takenAt} (${{ exif: 'EXIF', file: 'file date', upload: 'upload time', added: 'date added' }[r.takenFrom] ?? r.takenFrom})`],
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

// The gallery: pages of GET /api/images, appended by "Load more" (the cursor makes each page follow the last).
// A cursor belongs to its filters: "Load more" after a filter changed starts again from the first page.
let galleryNext = null;
let galleryQuery = '';
async function loadGallery(reset) {
  const q = new URLSearchParams({ limit: '24', sort: $('f-sort').value, ...filterFields() });
  if ($('f-label').value) q.set('label', $('f-label').value);
  if (q.toString() !== galleryQuery) reset = true;
  galleryQuery = q.toString();
  if (!reset && galleryNext) q.set('cursor', galleryNext);
  $('load-more').disabled = true;
  try {
    const out = await api(`/api/images?${q}`);
    galleryNext = out.next;
    const cards = out.images.map((r) => {
      const { li } = card(r, r.takenAt.slice(0, 10), 'date', r.label ?? '', '');
      li.tabIndex = 0;
      const open = () => findSimilar(r, true);
      li.addEventListener('click', open);
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
      return li;
    });
    if (reset) $('gallery').replaceChildren(...cards);
    else $('gallery').append(...cards);
    $('gallery-title').textContent = $('gallery').children.length ? `Gallery, newest first (${$('f-sort').value === 'date' ? 'taken' : 'added'})` : 'No pictures match the filters';
    $('load-more').hidden = !galleryNext;
  } catch (err) {
    showMessage(...explain(err));
  } finally {
    $('load-more').disabled = false;
  }
}

async function search(file) {
  currentFile = file;
  $('again').disabled = false;
  $('describe-button').disabled = false;
  $('add-button').disabled = false;
  $('add-state').textContent = '';
  $('description').textContent = '';
  resetConversation(); // a new image: a new conversation
  const preview = $('preview');
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $('drop-text').hidden = true;
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
    const reranked = out.rerank ? `, ${out.rerank.reranked} re-ranked${out.rerank.complete ? '' : ' (time budget reached)'}` : '';
    renderResults(out.results, `Most similar (${out.tookMs.toFixed(0)} ms${reranked})`);
  } catch (err) {
    showMessage(...explain(err));
  } finally {
    delete $('status').dataset.busy;
  }
}

// The conversation about the current image: {role, text} turns, sent back with each follow-up (the server keeps the
// newest 5 question-answer turns and says how many it dropped).
let turns = [];

function resetConversation() {
  turns = [];
  $('turns').replaceChildren();
  $('turns-note').textContent = '';
  $('followup').hidden = true;
}

// Posts to /api/describe and streams the answer (server-sent events over a POST) through onText; returns the `done` data.
async function streamDescribe(body, onText) {
  const res = await fetch('/api/describe', { method: 'POST', body });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    throw Object.assign(new Error(err?.error?.message ?? res.statusText), { status: res.status, code: err?.error?.code, retryAfter: Number(res.headers.get('retry-after')) || null });
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let result = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      if (event === 'token') onText(data.text);
      else if (event === 'error') showMessage(data.message);
      else if (event === 'done') {
        result = data;
        if (data.note) showMessage(`Note: ${data.note}.`, 'busy');
      }
    }
  }
  return result;
}

// "Describe": a new conversation about the image, its first answer in the describe box.
async function describe() {
  if (!currentFile) return;
  const out = $('description');
  out.textContent = '';
  delete out.dataset.done;
  resetConversation();
  showMessage('');
  const body = new FormData();
  body.append('image', currentFile);
  const prompt = $('describe-prompt').value.trim();
  if (prompt) body.append('prompt', prompt);
  $('describe-button').disabled = true;
  try {
    const done = await streamDescribe(body, (text) => { out.textContent += text; });
    if (done) {
      out.dataset.done = done.stop;
      turns = [{ role: 'user', text: prompt || $('describe-prompt').placeholder }, { role: 'assistant', text: done.text }];
      $('followup').hidden = false;
    }
  } catch (err) {
    showMessage(...explain(err));
  } finally {
    $('describe-button').disabled = false;
  }
}

// A follow-up question about the same image: the turns so far go with it; the answer is streamed into a new turn.
async function followUp() {
  const question = $('followup-text').value.trim();
  if (!currentFile || !question || !turns.length) return;
  showMessage('');
  const item = document.createElement('li');
  const q = document.createElement('p');
  q.className = 'q';
  q.textContent = question;
  const a = document.createElement('p');
  a.className = 'a';
  item.append(q, a);
  $('turns').append(item);
  const body = new FormData();
  body.append('image', currentFile);
  body.append('prompt', question);
  body.append('history', JSON.stringify(turns));
  $('followup-button').disabled = true;
  try {
    const done = await streamDescribe(body, (text) => { a.textContent += text; });
    if (done) {
      item.dataset.done = done.stop;
      item.dataset.kept = done.keptTurns; // the earlier turns the model saw
      turns.push({ role: 'user', text: question }, { role: 'assistant', text: done.text });
      $('turns-note').textContent = done.droppedTurns ? `The model saw the last ${done.keptTurns} turns; ${done.droppedTurns} earlier ${done.droppedTurns === 1 ? 'was' : 'were'} left out.` : '';
      $('followup-text').value = '';
    }
  } catch (err) {
    item.remove();
    showMessage(...explain(err));
  } finally {
    $('followup-button').disabled = false;
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
    const out = await api('/api/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    renderPrediction(null);
    $('preview').hidden = true;
    $('drop-text').hidden = false;
    renderResults(out.results, `Matching "${text}" (${out.tookMs.toFixed(0)} ms)`);
  } catch (err) {
    showMessage(...explain(err));
  }
}

// Changes need the server's API key when it has one (LOOKALIKE_API_KEY): the page asks for it on a 401 and keeps it
// in sessionStorage, so it is gone when the tab closes.
const API_KEY = 'lookalike-api-key';
function keyHeaders() {
  const typed = $('api-key').value.trim();
  if (typed) sessionStorage.setItem(API_KEY, typed);
  const key = sessionStorage.getItem(API_KEY);
  return key ? { authorization: `Bearer ${key}` } : {};
}
function askForKey(err) {
  sessionStorage.removeItem(API_KEY);
  $('api-key').value = '';
  $('api-key').hidden = false;
  $('api-key').focus();
  showMessage(err.status === 401 ? 'This server needs its API key to add images: enter it, then "Add to gallery" again (kept only while this tab is open).'
    : 'The API key was refused: enter it again.');
}

// Adds the current photo to the gallery. With workers (Redis) the server answers 202 and a job: its state is shown
// until the image is stored or the job failed.
async function addToGallery() {
  if (!currentFile) return;
  const body = new FormData();
  body.append('image', currentFile);
  const label = $('add-label').value.trim();
  if (label) body.append('label', label);
  const state = $('add-state');
  state.textContent = 'adding…';
  $('add-button').disabled = true;
  try {
    const out = await api('/api/images', { method: 'POST', body, headers: keyHeaders() });
    if (!out.statusUrl) { // stored at once (201), or already there (200); 202 gives a job to follow
      state.textContent = out.duplicate ? `already in the gallery as #${out.id}${out.relabelled ? ', relabelled' : ''}` : `added as #${out.id}`;
      return;
    }
    for (;;) {
      const job = await api(out.statusUrl);
      state.dataset.state = job.state;
      state.textContent = job.state === 'done' ? `added as #${job.imageId}` : job.state === 'failed' ? `failed: ${job.error}` : `${job.state}…`;
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

// "Find similar" from a result, or a click on a gallery picture (which also shows its metadata).
async function findSimilar(r, withDetails = false) {
  showMessage('');
  const { k, label, ...filters } = formOptions();
  const q = new URLSearchParams({ k, ...filters });
  if (label) q.set('label', label);
  try {
    const out = await api(`/api/images/${r.id}/similar?${q}`);
    renderPrediction(null);
    const preview = $('preview');
    preview.src = r.thumbnailUrl;
    preview.hidden = false;
    $('drop-text').hidden = true;
    renderResults(out.results, `Similar to ${r.source ?? `image ${r.id}`}`, withDetails ? r : null);
    if (withDetails) $('results-title').scrollIntoView({ block: 'start' });
  } catch (err) {
    showMessage(...explain(err));
  }
}

// --- Duplicates view: groups from GET /api/duplicates; per group, pick the one to keep (the server's suggestion
// first) and keep them all (the default), or delete (after a confirm that says how many) or relabel the others that
// are alike to the keeper with one POST /api/duplicates/resolve.
function showView(name) {
  for (const view of ['search', 'duplicates', 'trash']) {
    $(`view-${view}`).setAttribute('aria-pressed', String(view === name));
  }
  $('duplicates').hidden = name !== 'duplicates';
  $('trash').hidden = name !== 'trash';
  for (const id of ['search-view', 'results-view', 'gallery-section']) $(id).hidden = name !== 'search';
  // one API key box (kept for the tab), in the view that is shown
  $({ search: 'add-button', duplicates: 'dup-find', trash: 'trash-restore-all' }[name]).before($('api-key'));
  if (name === 'duplicates' && !$('dup-groups').children.length) findDuplicates();
  if (name === 'trash') loadTrash();
}

async function findDuplicates() {
  showMessage('');
  const threshold = $('dup-threshold').value;
  $('dup-summary').textContent = 'looking…';
  $('dup-find').disabled = true; // the server runs one scan at a time
  try {
    const out = await api(`/api/duplicates?${new URLSearchParams({ ...(threshold ? { threshold } : {}), limit: '200' })}`);
    if ($('dup-threshold').value === threshold) $('dup-threshold').value = String(out.threshold); // unless typed meanwhile
    $('dup-summary').textContent = out.total ? `${out.total} groups${out.total > out.groups.length ? ` (the first ${out.groups.length} shown)` : ''}` : 'no duplicates at this similarity';
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
    const { li: member, meta } = card(m, '', 'score', `${m.width}x${m.height}${m.label ? ` · ${m.label}` : ''}`, m.source ?? '');
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
  function updateApply() {
    const others = [...cards.children].filter((c) => c.dataset.alike === 'true').length;
    apply.disabled = action.value === 'keep' || others === 0;
  }
  action.addEventListener('change', () => { label.hidden = action.value !== 'relabel'; updateApply(); });
  actions.append(action, label, apply);
  actions.addEventListener('submit', (e) => {
    e.preventDefault();
    const others = [...cards.children].filter((c) => c.dataset.alike === 'true').map((c) => Number(c.dataset.id));
    resolveGroup(li, others, action.value, label.value.trim());
  });
  li.append(h, cards, actions);
  pick(g.keep);
  return li;
}

async function resolveGroup(li, others, action, label) {
  if (action === 'keep' || !others.length) return;
  const keep = Number(li.dataset.keep);
  if (action === 'delete' && !window.confirm(`Delete ${others.length} ${others.length === 1 ? 'picture' : 'pictures'} (` +
    `${others.map((id) => `#${id}`).join(', ')}) and keep #${keep}?`)) return;
  const body = { keep, others, action };
  if (action === 'relabel') body.label = label || null;
  showMessage('');
  try {
    const out = await api('/api/duplicates/resolve', { method: 'POST', headers: { 'content-type': 'application/json', ...keyHeaders() }, body: JSON.stringify(body) });
    li.remove();
    $('dup-summary').textContent = `kept #${out.kept}; ${out.deleted.length ? `deleted ${out.deleted.map((id) => `#${id}`).join(', ')}` : `relabelled ${out.relabelled.map((id) => `#${id}`).join(', ')}`}`;
  } catch (err) {
    if (err.status === 401 || err.code === 'forbidden') {
      askForKey(err);
      if (err.status === 401) showMessage('This server needs its API key to change the gallery: enter it, then "Apply" again (kept only while this tab is open).');
    } else showMessage(...explain(err));
  }
}
// --- end of the Duplicates view

// --- Trash view: what was deleted (GET /api/trash, with thumbnails), restored or deleted for good, one or all.
async function loadTrash() {
  showMessage('');
  try {
    const out = await api('/api/trash?limit=1000');
    const shown = out.total > out.images.length ? ` (the last ${out.images.length} shown)` : '';
    $('trash-summary').textContent = out.total ? `${out.total} in the trash${shown}, each kept ${out.trashDays} days` : 'the trash is empty';
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
// --- end of the Trash view

function pickImage(files) {
  const file = [...(files ?? [])].find((f) => f.type.startsWith('image/') || f.type === '');
  if (file) search(file);
  else showMessage('That is not an image file.');
}

function wire() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => pickImage(e.target.files));
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); } });
  for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); pickImage(e.dataTransfer?.files); });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => i.getAsFile());
    if (files.length) pickImage(files);
  });
  $('controls').addEventListener('submit', (e) => { e.preventDefault(); if (currentFile) search(currentFile); });
  $('describe').addEventListener('submit', (e) => { e.preventDefault(); describe(); });
  $('followup').addEventListener('submit', (e) => { e.preventDefault(); followUp(); });
  $('words').addEventListener('submit', (e) => { e.preventDefault(); searchWords(); });
  $('add').addEventListener('submit', (e) => { e.preventDefault(); addToGallery(); });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); loadGallery(true); });
  $('load-more').addEventListener('click', () => loadGallery(false));
  $('view-search').addEventListener('click', () => showView('search'));
  $('view-duplicates').addEventListener('click', () => showView('duplicates'));
  $('view-trash').addEventListener('click', () => showView('trash'));
  $('trash-restore-all').addEventListener('click', () => changeTrash('restore'));
  $('trash-empty').addEventListener('click', () => changeTrash('empty'));
  $('dup-controls').addEventListener('submit', (e) => { e.preventDefault(); findDuplicates(); });
}

wire();
await waitUntilReady();
await loadLabels().catch((err) => showMessage(...explain(err)));
await loadGallery(true);
document.body.dataset.ready = 'true';
