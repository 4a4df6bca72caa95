// What every view of the page uses: element lookup, the JSON API with its one error shape, messages, picture cards,
// the gallery filters (they apply to searches too) and the API key.
export const $ = (id) => document.getElementById(id);

/** The picture the search view is about (searched, described, added): a File, or null before the first. */
export const current = { file: null };

/** GET /api/health's answer once the server is ready: its features, and the words floor of the demo. */
export const server = { health: null };

export function showMessage(text, kind = 'error') {
  const el = $('message');
  el.textContent = text;
  el.className = `message ${kind}`;
  el.hidden = !text;
}

export async function api(path, init) {
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

/** An API error as a message and its kind: a busy server is told apart from a refusal. */
export function explain(err) {
  if (err.status === 503 && err.code === 'busy') {
    const when = err.retryAfter ? `Try again in about ${err.retryAfter} s.` : 'Try again shortly.';
    return [`The server is busy. ${when}`, 'busy'];
  }
  if (err.status === 503) return [err.message, 'busy'];
  return [err.message, 'error'];
}

// A picture's card: its thumbnail, then a line of two spans (a score or a date first, then a label), with `title`s.
export function card(r, first, firstClass, second, secondTitle) {
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

// The gallery filters (folder, camera, dates) apply to searches as well; the class comes from the search controls.
export function filterFields() {
  const out = {};
  const fields = [
    ['folder', 'f-folder'], ['camera', 'f-camera'], ['takenAfter', 'f-after'], ['takenBefore', 'f-before'],
  ];
  for (const [field, id] of fields) {
    const value = $(id).value.trim();
    if (value) out[field] = value;
  }
  return out;
}

// Changes need the server's API key when it has one (LOOKALIKE_API_KEY): the page asks for it on a 401 and keeps it
// in sessionStorage, so it is gone when the tab closes.
const API_KEY = 'lookalike-api-key';

export function keyHeaders() {
  const typed = $('api-key').value.trim();
  if (typed) sessionStorage.setItem(API_KEY, typed);
  const key = sessionStorage.getItem(API_KEY);
  return key ? { authorization: `Bearer ${key}` } : {};
}

export function askForKey(err) {
  sessionStorage.removeItem(API_KEY);
  $('api-key').value = '';
  $('api-key').hidden = false;
  $('api-key').focus();
  showMessage(err.status === 401
    ? 'This server needs its API key to add images: enter it, then "Add to gallery" again ' +
      '(kept only while this tab is open).'
    : 'The API key was refused: enter it again.');
}
