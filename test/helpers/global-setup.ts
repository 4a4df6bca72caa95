import { ensureRandomMmproj, TINY_VISION } from '../../src/models/random-models.js';
import { TINY_MMPROJ } from './models.js';

export default function setup(): void {
  ensureRandomMmproj(TINY_MMPROJ, TINY_VISION, 1);
}
