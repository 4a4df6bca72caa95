// What a file says about itself, when the file is hostile: EXIF strings of megabytes and control characters, file
// names of kilobytes, dates that do not exist. readPhotoMeta on files made here, then the real app on the demo gallery
// (SQLite, FAISS, the demo encoder), where the records, pages and duplicate groups are measured in bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_MAX } from '../src/engine/gallery/gallery.js';
import { EXIF_TEXT_MAX, readPhotoMeta } from '../src/application/usecases/photo-meta.js';
import { multipart, startTestApp, type TestApp } from './helpers/app.js';

interface TiffTags {
  make?: string;
  model?: string;
  lens?: string;
  dateTimeOriginal?: string;
  offsetTimeOriginal?: string;
}

/**
 * An 8x8 grey TIFF, written byte by byte: JPEG's EXIF segment holds 64 KB at most, a TIFF's tags any size. IFD0 has
 * the image's tags, Make and Model; an EXIF IFD the lens and the date taken. `shade` sets the pixels.
 */
function tiff(tags: TiffTags, shade = 128): Buffer {
  const ascii = (s: string) => Buffer.from(`${s}\0`, 'latin1');
  type Entry = [tag: number, type: 3 | 4 | 2, value: number | Buffer];
  const exif: Entry[] = [
    ...(tags.dateTimeOriginal ? [[36867, 2, ascii(tags.dateTimeOriginal)] as Entry] : []),
    ...(tags.offsetTimeOriginal ? [[36881, 2, ascii(tags.offsetTimeOriginal)] as Entry] : []),
    ...(tags.lens ? [[42036, 2, ascii(tags.lens)] as Entry] : []),
  ];
  const ifd0: Entry[] = [
    [256, 3, 8],
    [257, 3, 8],
    [258, 3, 8],
    [259, 3, 1],
    [262, 3, 1],
    ...(tags.make ? [[271, 2, ascii(tags.make)] as Entry] : []),
    ...(tags.model ? [[272, 2, ascii(tags.model)] as Entry] : []),
    [273, 4, 0],
    [277, 3, 1],
    [278, 3, 8],
    [279, 4, 64],
    ...(exif.length ? [[34665, 4, 0] as Entry] : []),
  ];
  const ifdSize = (n: number) => 2 + 12 * n + 4;
  // layout: header, IFD0, the EXIF IFD, the pixels, then every value too long for its entry
  const exifAt = 8 + ifdSize(ifd0.length);
  const pixelsAt = exifAt + (exif.length ? ifdSize(exif.length) : 0);
  let dataAt = pixelsAt + 64;
  const blobs: Buffer[] = [];
  const ifd = (entries: Entry[]) => {
    const b = Buffer.alloc(ifdSize(entries.length));
    b.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, value], i) => {
      const at = 2 + 12 * i;
      b.writeUInt16LE(tag, at);
      b.writeUInt16LE(type, at + 2);
      if (Buffer.isBuffer(value)) {
        b.writeUInt32LE(value.length, at + 4);
        if (value.length <= 4) value.copy(b, at + 8);
        else {
          b.writeUInt32LE(dataAt, at + 8);
          blobs.push(value);
          dataAt += value.length + (value.length & 1);
        }
      } else {
        b.writeUInt32LE(1, at + 4);
        const v = tag === 273 ? pixelsAt : tag === 34665 ? exifAt : value;
        if (type === 3) b.writeUInt16LE(v, at + 8);
        else b.writeUInt32LE(v, at + 8);
      }
    });
    return b;
  };
  const header = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
  const parts: Buffer[] = [header, ifd(ifd0), ...(exif.length ? [ifd(exif)] : []), Buffer.alloc(64, shade)];
  for (const blob of blobs) parts.push(blob, Buffer.alloc(blob.length & 1));
  return Buffer.concat(parts);
}

const CONTROLS = /\p{Cc}/u;
const at = new Date('2030-01-01T00:00:00Z');

describe('EXIF text from a hostile file', () => {
  it('keeps each EXIF text field to 256 characters, without control characters, from a 15 MB Make tag', async () => {
    const meta = await readPhotoMeta(
      tiff({
        make: `Can\x1b[31mon\x07${'A'.repeat(15 * 2 ** 20)}`,
        model: 'EOS\r\n 5D\x7f',
        lens: `\t${'L'.repeat(300)}`,
      }),
      { at, from: 'upload' },
    );
    expect(meta.cameraMake).toBe(`Can[31mon${'A'.repeat(EXIF_TEXT_MAX - 9)}`);
    expect(meta.cameraModel).toBe('EOS 5D');
    expect(meta.lens).toBe('L'.repeat(EXIF_TEXT_MAX));
    for (const v of [meta.cameraMake, meta.cameraModel, meta.lens]) expect(v).not.toMatch(CONTROLS);
    // a field of control characters only is no field
    expect((await readPhotoMeta(tiff({ make: '\x01\x02\x03' }), { at, from: 'upload' })).cameraMake).toBeNull();
  });
});

describe('EXIF dates that do not exist', () => {
  const taken = (dateTimeOriginal: string, offsetTimeOriginal?: string) =>
    readPhotoMeta(tiff({ dateTimeOriginal, offsetTimeOriginal }), { at, from: 'file' });

  it("counts 30 February, 31 April, hour 24, minute 60 and second 60 as no date: the file's time stands instead", async () => {
    for (const impossible of [
      '2021:02:30 10:00:00',
      '2021:04:31 10:00:00',
      '2021:02:29 10:00:00',
      '2021:01:01 24:00:00',
      '2021:01:01 10:60:00',
      '2021:01:01 10:00:60',
      '2021:13:01 10:00:00',
      '2021:00:10 10:00:00',
      '2021:01:00 10:00:00',
    ]) {
      expect(await taken(impossible), impossible).toMatchObject({
        takenAt: at.toISOString(),
        takenMs: at.getTime(),
        takenFrom: 'file',
      });
    }
  });

  it('keeps the real ones, the text and the sort key saying the same, and drops an offset no zone has', async () => {
    expect(await taken('2020:02:29 23:59:59')).toMatchObject({
      takenAt: '2020-02-29T23:59:59',
      takenMs: Date.parse('2020-02-29T23:59:59Z'),
      takenFrom: 'exif',
    });
    expect(await taken('2021:12:31 00:00:00', '-05:00')).toMatchObject({
      takenAt: '2021-12-31T00:00:00-05:00',
      takenMs: Date.parse('2021-12-31T05:00:00Z'),
    });
    expect(await taken('2021:06:15 10:30:00', '+25:00')).toMatchObject({
      takenAt: '2021-06-15T10:30:00',
      takenMs: Date.parse('2021-06-15T10:30:00Z'),
    });
  });
});

describe('hostile files through the API', () => {
  const N = 24; // a default page of GET /api/images
  let t: TestApp;
  const ids: number[] = [];
  // 5 KB, with control characters (an upload's name is its base name: busboy drops a path)
  const hostileName = `${'\x01\x1b[2J'.repeat(10)}${'n'.repeat(5000)}.tif`;
  beforeAll(async () => {
    t = await startTestApp();
    for (let i = 0; i < N; i++) {
      // the same pixels: one exact-duplicate group of all of them, each with its 15 MB tag
      const data = tiff({
        make: `${i}${'M'.repeat(15 * 2 ** 20)}`,
        model: `\x1b${'m'.repeat(2 ** 20)}`,
        lens: 'l'.repeat(2 ** 20),
        dateTimeOriginal: '2021:02:30 10:00:00',
      });
      const body = multipart({ image: { filename: hostileName, data, contentType: 'image/tiff' } });
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/images',
        payload: body.payload,
        headers: body.headers,
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
  });
  afterAll(async () => t?.close());

  it('stores them capped: the largest record, a page of them, their duplicate group and a search are measured small', async () => {
    const record = await t.app.inject(`/api/images/${ids[0]}`);
    const r = record.json();
    expect(r.cameraMake).toHaveLength(EXIF_TEXT_MAX);
    // the escapes' printable rest stays
    expect(r.source).toBe(`${'[2J'.repeat(10)}${'n'.repeat(5000)}`.slice(0, SOURCE_MAX));
    expect(r.source).not.toMatch(CONTROLS);
    expect(r).toMatchObject({ takenFrom: 'upload' }); // 30 February is no date
    const page = await t.app.inject('/api/images'); // newest first: these N
    expect(
      page
        .json()
        .images.map((i: { id: number }) => i.id)
        .sort(),
    ).toEqual([...ids].sort());
    const camera = await t.app.inject(`/api/images?camera=${ids.length - 1}MMM`);
    expect(camera.statusCode, camera.body.slice(0, 200)).toBe(200);
    expect(camera.json().images).toHaveLength(1);
    const duplicates = await t.app.inject('/api/duplicates');
    const group = duplicates.json().groups.find((g: { members: unknown[] }) => g.members.length === N);
    expect(group).toBeDefined();
    const body = multipart({ image: { filename: 'q.tif', data: tiff({}), contentType: 'image/tiff' }, k: String(N) });
    const search = await t.app.inject({
      method: 'POST',
      url: '/api/search',
      payload: body.payload,
      headers: body.headers,
    });
    const sizes = {
      record: record.body.length,
      page: page.body.length,
      search: search.body.length,
      group: JSON.stringify(group).length,
      duplicates: duplicates.body.length,
    }; // the last with the demo gallery's own groups
    console.log(
      `${N} files with a 15 MB Make tag, 1 MB Model and lens tags and a 5 KB file name: ` +
        `bytes ${JSON.stringify(sizes)}; ` +
        `rss of this process (the app and the test) ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
    // three EXIF fields of 256 characters and a 1024-character path, with the rest of a record: under 3 KB each
    expect(sizes.record).toBeLessThan(3000);
    expect(sizes.page).toBeLessThan(N * 3000);
    expect(sizes.search).toBeLessThan(N * 3000);
    expect(sizes.group).toBeLessThan(2 * N * 3000); // every member, and the one to keep once more
  });
});
