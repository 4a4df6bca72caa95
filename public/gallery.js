// The gallery: pages of GET /api/images, newest first, appended by "Load more" (the cursor makes each page follow the
// last). A click on a picture shows its metadata and the pictures similar to it.
import { findSimilar } from './search.js';
import { $, api, card, explain, filterFields, showMessage } from './shared.js';

// A cursor belongs to its filters: "Load more" after a filter changed starts again from the first page. Only the
// newest request's answer is shown: a page still on its way when the filters changed is dropped.
let galleryNext = null;
let galleryQuery = '';
let newest = 0;
let inFlight = 0;

export async function loadGallery(reset) {
  const q = new URLSearchParams({ limit: '24', sort: $('f-sort').value, ...filterFields() });
  if ($('f-label').value) q.set('label', $('f-label').value);
  if (q.toString() !== galleryQuery) reset = true;
  galleryQuery = q.toString();
  if (!reset && galleryNext) q.set('cursor', galleryNext);
  const mine = ++newest;
  $('load-more').disabled = true;
  $('gallery').setAttribute('aria-busy', String(++inFlight > 0));
  try {
    const out = await api(`/api/images?${q}`);
    if (mine !== newest) return;
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
    const order = $('f-sort').value === 'date' ? 'taken' : 'added';
    $('gallery-title').textContent = $('gallery').children.length
      ? `Gallery, newest first (${order})` : 'No pictures match the filters';
    $('load-more').hidden = !galleryNext;
  } catch (err) {
    if (mine === newest) showMessage(...explain(err));
  } finally {
    $('gallery').setAttribute('aria-busy', String(--inFlight > 0));
    if (mine === newest) $('load-more').disabled = false;
  }
}

export function wireGallery() {
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); loadGallery(true); });
  $('load-more').addEventListener('click', () => loadGallery(false));
}
