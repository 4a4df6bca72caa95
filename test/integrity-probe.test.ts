// A probe of the routes that change the gallery or page through it, all at once over a real socket: adds (new content
// and content in the trash), deletes, relabels, duplicate scans and resolves (some of them overlapping on purpose),
// trash restores and empties, and walks through listing and similar-search pages. Then a restart.
// It must find no 500, no lost or resurrected picture, and no page walk that repeats, skips or ends early.
// Each change claims its ids first, so the expected state is known; overlapping resolves are the one deliberate race.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';
import { recompressedCopy, scenePng } from './helpers/images.js';
import { seededRandom } from './helpers/random-text-model.js';

type State = 'live' | 'trash' | 'gone';
interface Walk {
  kind: string;
  start: number;
  end: number;
  ids: number[];
  /** the walk's label filter, and the image it asks about (similar never returns it) */
  label?: string;
  exclude?: number;
  /** every image's state and label when it started */
  states: Map<number, State>;
  labels: Map<number, string | null>;
}

const dataDir = mkdtempSync(join(tmpdir(), 'lookalike-probe-'));
const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(): Promise<{ t: TestApp; base: string }> {
  const t = await startTestApp({ LOOKALIKE_DATA_DIR: dataDir });
  apps.push(t);
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, base: address };
}

describe('integrity under concurrent changes', () => {
  it(
    'a few hundred mixed requests, then a restart: no 500, nothing lost or resurrected, no page repeated, skipped ' +
      'or cut short',
    async () => {
      let { t, base } = await serve();
      const rand = seededRandom(2026);
      const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
      const statuses = new Map<string, number>(); // "METHOD route status" -> count
      const unexpected: string[] = [];
      const call = async (
        method: string,
        path: string,
        body?: { payload: Buffer; headers: Record<string, string> } | object,
      ) => {
        const init: RequestInit = { method };
        if (body && 'payload' in body) (init.body = new Uint8Array(body.payload)), (init.headers = body.headers);
        else if (body) (init.body = JSON.stringify(body)), (init.headers = { 'content-type': 'application/json' });
        const res = await fetch(base + path, init);
        const text = await res.text();
        const route = path.replace(/\d+/g, ':n').replace(/\?.*/, '');
        statuses.set(`${method} ${route} ${res.status}`, (statuses.get(`${method} ${route} ${res.status}`) ?? 0) + 1);
        if (res.status >= 500 && !(res.status === 503 && route === '/api/duplicates'))
          unexpected.push(`${method} ${path} ${res.status} ${text.slice(0, 200)}`);
        return { status: res.status, json: text ? JSON.parse(text) : null };
      };

      // the ledger: what each image is, as the acknowledged answers say; contents to add again from the trash
      const state = new Map<number, State>();
      const label = new Map<number, string | null>();
      const content = new Map<number, Buffer>();
      const touched = new Map<number, Array<[number, number]>>(); // id -> [start, end] of each change
      const claimed = new Set<number>();
      const claim = (ids: number[]) =>
        ids.some((id) => claimed.has(id)) ? false : (ids.forEach((id) => claimed.add(id)), true);
      const release = (ids: number[], start: number) => {
        for (const id of ids) {
          claimed.delete(id);
          touched.set(id, [...(touched.get(id) ?? []), [start, performance.now()]]);
        }
      };
      const inState = (s: State) => [...state].filter(([id, st]) => st === s && !claimed.has(id)).map(([id]) => id);

      // the demo's 1000 pictures, then 120 new scenes and 20 near copies of them (over 1024 images: the scan's batches)
      for (let cursor: string | null | undefined = undefined; cursor !== null; ) {
        const page = await call('GET', `/api/images?sort=added&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        for (const im of page.json.images) {
          state.set(im.id, 'live');
          label.set(im.id, im.label);
        }
        cursor = page.json.next;
      }
      expect(state.size).toBe(1000);
      let seed = 9000;
      const add = async (data: Buffer, lab: string) => {
        const res = await call(
          'POST',
          '/api/images',
          multipart({ image: { filename: `p${seed}.png`, data, contentType: 'image/png' }, label: lab }),
        );
        return res;
      };
      const originals: Buffer[] = [];
      for (let i = 0; i < 120; i++) {
        const data = await scenePng(seed++);
        const res = await add(data, 'p');
        expect(res.status).toBe(201);
        state.set(res.json.id, 'live');
        label.set(res.json.id, 'p');
        content.set(res.json.id, data);
        if (i < 20) originals.push(data);
      }
      for (const o of originals) {
        const data = await recompressedCopy(o, 0.9, 90);
        const res = await add(data, 'p');
        expect(res.status).toBe(201);
        state.set(res.json.id, 'live');
        label.set(res.json.id, 'p');
        content.set(res.json.id, data);
      }

      const ops = {
        async addNew() {
          const data = await scenePng(seed++);
          const start = performance.now();
          const res = await add(data, 'p');
          expect(res.status).toBe(201);
          state.set(res.json.id, 'live');
          label.set(res.json.id, 'p');
          content.set(res.json.id, data);
          release([res.json.id], start);
        },
        async remove() {
          const id = pick(inState('live').filter((i) => content.has(i)));
          if (id === undefined || !claim([id])) return;
          const start = performance.now();
          const res = await call('DELETE', `/api/images/${id}`);
          expect(res.status).toBe(204);
          state.set(id, 'trash');
          release([id], start);
        },
        async relabel() {
          const id = pick(inState('live'));
          if (id === undefined || !claim([id])) return;
          const start = performance.now();
          const next = label.get(id) === 'p' ? 'q' : 'p';
          const res = await call('PATCH', `/api/images/${id}`, { label: next });
          expect(res.status).toBe(200);
          label.set(id, next);
          release([id], start);
        },
        async restore() {
          const id = pick(inState('trash'));
          if (id === undefined || !claim([id])) return;
          const start = performance.now();
          const res = await call('POST', '/api/trash/restore', { ids: [id] });
          expect(res.status).toBe(200);
          state.set(id, 'live');
          release([id], start);
        },
        async addFromTrash() {
          const id = pick(inState('trash').filter((i) => content.has(i)));
          if (id === undefined || !claim([id])) return;
          const start = performance.now();
          const res = await add(content.get(id)!, label.get(id) ?? 'p');
          expect(res.status).toBe(200);
          expect(res.json).toMatchObject({ id, restored: true });
          state.set(id, 'live');
          release([id], start);
        },
        async empty() {
          const id = pick(inState('trash'));
          if (id === undefined || !claim([id])) return;
          const start = performance.now();
          const res = await call('POST', '/api/trash/empty', { ids: [id] });
          expect(res.status).toBe(200);
          state.set(id, 'gone');
          release([id], start);
        },
        async resolve() {
          const res = await call('GET', '/api/duplicates?limit=50');
          if (res.status === 503) return;
          expect(res.status).toBe(200);
          for (const g of res.json.groups as Array<{ keep: number; members: Array<{ id: number; score: number }> }>) {
            const ids = g.members.map((m) => m.id);
            if (ids.some((id) => state.get(id) !== 'live') || !claim(ids)) continue;
            const start = performance.now();
            const others = ids.filter((id) => id !== g.keep);
            const out = await call('POST', '/api/duplicates/resolve', { keep: g.keep, others, action: 'delete' });
            expect(out.status, JSON.stringify(out.json)).toBe(200);
            for (const id of others) state.set(id, 'trash');
            release(ids, start);
            return;
          }
        },
        async overlappingResolves() {
          const live = inState('live');
          const a = pick(live),
            b = pick(live);
          if (a === undefined || b === undefined || a === b || !claim([a, b])) return;
          const start = performance.now();
          const [x, y] = await Promise.all([
            call('POST', '/api/duplicates/resolve', { keep: a, others: [b], action: 'delete' }),
            call('POST', '/api/duplicates/resolve', { keep: b, others: [a], action: 'delete' }),
          ]);
          expect([x.status, y.status].sort()).toEqual([200, 409]);
          const won = x.status === 200 ? a : b;
          state.set(won === a ? b : a, 'trash');
          release([a, b], start);
        },
      };
      const writers = Object.entries(ops);

      const walks: Walk[] = [];
      const walk = async (kind: string, first: string, lab?: string, exclude?: number) => {
        const states = new Map(state),
          labels = new Map(label);
        const start = performance.now();
        const ids: number[] = [];
        for (let cursor: string | null = null, n = 0; n === 0 || cursor !== null; n++) {
          const sep = first.includes('?') ? '&' : '?';
          const res = await call('GET', first + (cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''));
          expect(res.status, JSON.stringify(res.json)).toBe(200);
          ids.push(...(res.json.images ?? res.json.results).map((r: { id: number }) => r.id));
          cursor = res.json.next;
        }
        walks.push({ kind, start, end: performance.now(), ids, label: lab, exclude, states, labels });
      };
      const readers = [
        () => walk('list', '/api/images?sort=added&limit=60'),
        () => walk('list by label', '/api/images?sort=date&limit=11&label=p', 'p'),
        async () => {
          const probe = pick(inState('live').filter((i) => content.has(i)));
          if (probe !== undefined)
            await walk('similar by label', `/api/images/${probe}/similar?k=7&minScore=-1&label=q`, 'q', probe);
        },
      ];

      const total = 320;
      let done = 0;
      const writer = async () => {
        while (done < total) {
          done++;
          const [, op] = pick(writers)!;
          await op();
        }
      };
      const reader = async () => {
        while (done < total) {
          await pick(readers)!();
        }
      };
      await Promise.all([writer(), writer(), writer(), writer(), reader(), reader()]);
      expect(unexpected).toEqual([]);
      expect(walks.length).toBeGreaterThan(5);

      // every walk: no repeat, and every image present and matching throughout it, untouched while it ran, was shown
      for (const w of walks) {
        expect(new Set(w.ids).size, `${w.kind}: a repeat`).toBe(w.ids.length);
        const shown = new Set(w.ids);
        const untouched = (id: number) => !(touched.get(id) ?? []).some(([s, e]) => e >= w.start && s <= w.end);
        const missing = [...w.states]
          .filter(
            ([id, st]) =>
              st === 'live' && id !== w.exclude && untouched(id) && (!w.label || w.labels.get(id) === w.label),
          )
          .map(([id]) => id)
          .filter((id) => !shown.has(id));
        expect(missing, `${w.kind}: images never shown`).toEqual([]);
      }

      const check = async (when: string) => {
        const listed = new Set<number>();
        for (let cursor: string | null | undefined = undefined; cursor !== null; ) {
          const page = await call('GET', `/api/images?sort=added&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
          for (const im of page.json.images) {
            listed.add(im.id);
            expect(im.label, `${when}: label of ${im.id}`).toBe(label.get(im.id));
          }
          cursor = page.json.next;
        }
        const trashed = new Set<number>();
        for (let cursor: string | null | undefined = undefined; cursor !== null; ) {
          const page = await call('GET', `/api/trash?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
          for (const im of page.json.images) trashed.add(im.id);
          cursor = page.json.next;
        }
        const expected = (s: State) =>
          [...state]
            .filter(([, st]) => st === s)
            .map(([id]) => id)
            .sort((a, b) => a - b);
        expect(
          [...listed].sort((a, b) => a - b),
          `${when}: live images`,
        ).toEqual(expected('live'));
        expect(
          [...trashed].sort((a, b) => a - b),
          `${when}: the trash`,
        ).toEqual(expected('trash'));
        for (const id of expected('trash').slice(0, 20))
          expect((await call('GET', `/api/images/${id}`)).status).toBe(404);
        for (const id of expected('gone').slice(0, 20))
          expect((await call('GET', `/api/images/${id}`)).status).toBe(404);
        // search finds live images and never a trashed one
        const trashSet = new Set(expected('trash'));
        for (const id of expected('live')
          .filter((i) => content.has(i))
          .slice(0, 25)) {
          const res = await call('GET', `/api/images/${id}/similar?k=20`);
          expect(res.status).toBe(200);
          for (const r of res.json.results) expect(trashSet.has(r.id), `${when}: trashed ${r.id} found`).toBe(false);
        }
        const stats = await call('GET', '/api/stats');
        expect(stats.status).toBe(200);
        expect(unexpected).toEqual([]);
      };
      await check('before the restart');
      const requests = [...statuses.values()].reduce((a, b) => a + b, 0);
      expect(requests).toBeGreaterThan(300);
      console.log(
        `integrity probe: ${requests} requests, ${walks.length} page ` +
          `walks; ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`,
      );

      await t.app.close();
      ({ t, base } = await serve());
      await check('after the restart');
    },
  );
});
