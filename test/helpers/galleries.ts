// Galleries in temporary data folders, with the tests' small index settings: each test file keeps one TestGalleries
// and calls cleanUp() after its tests, which closes what is still open and removes the folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gallery, type GalleryOptions } from '../../src/engine/gallery/gallery.js';
import { identity } from './vectors.js';

export const TEST_INDEX_PARAMS = { hnswM: 16, efSearch: 64, nprobe: 8 };

export class TestGalleries {
  private readonly dirs: string[] = [];
  private readonly opened: Gallery[] = [];

  /** `name` goes into the folders' names; `defaults` into every open (a 32-dim identity and flat unless told). */
  constructor(
    private readonly name: string,
    private readonly defaults: Partial<GalleryOptions> = {},
  ) {}

  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), `lookalike-${this.name}-`));
    this.dirs.push(dir);
    return dir;
  }

  async open(dataDir: string, opts: Partial<GalleryOptions> = {}): Promise<Gallery> {
    const g = await Gallery.open({
      dataDir,
      identity: identity(32),
      indexKind: 'flat',
      indexParams: TEST_INDEX_PARAMS,
      ...this.defaults,
      ...opts,
    });
    this.opened.push(g);
    return g;
  }

  /** Closes one before the clean-up (to open its folder again). */
  async close(g: Gallery): Promise<void> {
    this.opened.splice(this.opened.indexOf(g), 1);
    await g.close();
  }

  async cleanUp(): Promise<void> {
    for (const g of this.opened.splice(0)) await g.close();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
