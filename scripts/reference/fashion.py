"""Fashion-MNIST as the demo's models see it: the data, the processor's patch layout, the demo split and its figures.

Shared by the training scripts (train.py and the generative ones), so that every model is trained and measured on the
same pictures, resized and laid out as lookalike does.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

DATA = Path('/usr/share/datasets/fashion-mnist')  # Debian's dataset-fashion-mnist
TOKENS = 4  # 64x64 pixels
SIDE = 64
GALLERY_PER_CLASS, QUERIES_PER_CLASS = 100, 20


def idx(name: str, data: Path = DATA) -> np.ndarray:
    with gzip.open(Path(data) / name) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data: Path = DATA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels), the images as the 28x28 originals."""
    return (idx('train-images-idx3-ubyte.gz', data), idx('train-labels-idx1-ubyte.gz', data),
            idx('t10k-images-idx3-ubyte.gz', data), idx('t10k-labels-idx1-ubyte.gz', data))


def resized(images: np.ndarray) -> np.ndarray:
    """28x28 grey to 64x64 with Pillow's bicubic: what lookalike's preprocessing does to these pictures."""
    return np.stack([np.asarray(Image.fromarray(im).resize((SIDE, SIDE), Image.BICUBIC)) for im in images])


def patchify(images: np.ndarray) -> torch.Tensor:
    """Qwen2-VL's processor layout for B grey 64x64 images: (B*16, 3*2*16*16), merge blocks in raster order."""
    x = torch.from_numpy(images).float().div(255).sub(0.5).div(0.5)  # mean and std 0.5
    b = x.shape[0]
    x = x[:, None].expand(b, 3, SIDE, SIDE)  # grey as RGB
    g = SIDE // 16
    x = x.reshape(b, 3, g // 2, 2, 16, g // 2, 2, 16).permute(0, 2, 5, 3, 6, 1, 4, 7)
    x = x.unsqueeze(6).expand(-1, -1, -1, -1, -1, -1, 2, -1, -1)  # the temporal patch: the frame twice
    return x.reshape(b * g * g, 3 * 2 * 16 * 16)


def grid(b: int) -> torch.Tensor:
    return torch.tensor([[1, SIDE // 16, SIDE // 16]] * b)


def vision_vectors(visual, images: np.ndarray, batch: int = 500) -> torch.Tensor:
    """lookalike's `mean` pooling: the L2-normalised mean of the main merger tokens."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            chunk = images[i:i + batch]
            main = visual(patchify(chunk), grid_thw=grid(len(chunk))).pooler_output
            out.append(F.normalize(main.view(len(chunk), TOKENS, -1).mean(1), dim=-1))
    return torch.cat(out)


def demo_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Test-set indices: the first 100 of each class are the demo gallery, the next 20 the queries."""
    gallery, queries = [], []
    for c in range(10):
        idxs = np.flatnonzero(labels == c)
        gallery += idxs[:GALLERY_PER_CLASS].tolist()
        queries += idxs[GALLERY_PER_CLASS:GALLERY_PER_CLASS + QUERIES_PER_CLASS].tolist()
    return np.array(sorted(gallery)), np.array(sorted(queries))


def knn_and_map(gallery_vecs, gallery_labels, query_vecs, query_labels, k: int = 20, temperature: float = 0.07) -> dict:
    """lookalike's weighted kNN (src/engine/knn/knn.ts: k 20, weights exp(similarity / 0.07)) and mAP@10 of image search."""
    sims = query_vecs @ gallery_vecs.T
    top = sims.topk(k, dim=1)
    right, ap = 0, []
    for q in range(len(query_vecs)):
        weights = torch.zeros(10)
        for s, j in zip(top.values[q], top.indices[q]):
            weights[gallery_labels[j]] += math.exp((s - top.values[q, 0]) / temperature)
        right += int(weights.argmax()) == query_labels[q]
        rel = [int(gallery_labels[j] == query_labels[q]) for j in top.indices[q, :10]]
        hits, total = 0, 0.0
        for i, r in enumerate(rel):
            hits += r
            total += r * hits / (i + 1)
        ap.append(total / min(10, int((gallery_labels == query_labels[q]).sum())))
    return {'knnAccuracy': right / len(query_vecs), 'mAP@10': float(np.mean(ap))}


# Photos of one item differ by a mirror, a few pixels of framing and a little zoom; the towers are trained on such
# views (drawn afresh each step) so that none of them changes what a picture is. Shifts are in pixels of the 64x64
# picture (5 is about 2 pixels of the 28x28 original); the fill is the pictures' black background.
AUGMENT = {'mirror': 0.5, 'shift': 5, 'scale': (0.9, 1.1)}


def warp(images: np.ndarray, mirror: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> np.ndarray:
    """B uint8 SxS pictures mirrored (bool B), scaled about the centre (B) and moved by (dx, dy) pixels (B, 2)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float()[:, None]
    side = images.shape[-1]
    flip = 1 - 2 * mirror.float()
    t = shift.float() * 2 / side  # pixels to affine_grid's [-1, 1] units
    theta = torch.zeros(len(images), 2, 3)  # output -> input: in = (out - t) / s, then mirrored in x
    theta[:, 0, 0], theta[:, 0, 2] = flip / scale, -flip * t[:, 0] / scale
    theta[:, 1, 1], theta[:, 1, 2] = 1 / scale, -t[:, 1] / scale
    g = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, g, mode='bilinear', padding_mode='zeros', align_corners=False)
    return out[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def augment(images: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """A random view of each picture, drawn from AUGMENT with `generator` (so a seeded run repeats)."""
    b = len(images)
    mirror = torch.rand(b, generator=generator) < AUGMENT['mirror']
    lo, hi = AUGMENT['scale']
    scale = lo + (hi - lo) * torch.rand(b, generator=generator)
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * AUGMENT['shift']
    return warp(images, mirror, scale, shift)


# The fixed variants held-out accuracy is measured on (each applied to every query picture, against the plain gallery)
VARIANTS = {
    'plain': dict(mirror=False, scale=1.0, shift=(0, 0)),
    'mirrored': dict(mirror=True, scale=1.0, shift=(0, 0)),
    'shifted': dict(mirror=False, scale=1.0, shift=(4, 4)),  # 4 px right and down: about 2 px of the original
    'scaled 0.9': dict(mirror=False, scale=0.9, shift=(0, 0)),
    'scaled 1.1': dict(mirror=False, scale=1.1, shift=(0, 0)),
}
SHOES = (5, 7, 9)  # sandal, sneaker, ankle boot


def variant(images: np.ndarray, mirror: bool, scale: float, shift: tuple[int, int]) -> np.ndarray:
    b = len(images)
    return warp(images, torch.full((b,), mirror), torch.full((b,), float(scale)), torch.tensor([shift] * b))


def instance_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent: each view must pick its picture's other view out of all 2B - 1 views in the batch, so that
    distinct pictures of one class stay apart while the class loss gathers them."""
    z = torch.cat([a, b])
    n = len(a)
    sims = z @ z.T / temperature - torch.eye(2 * n) * 1e4
    return F.cross_entropy(sims, torch.cat([torch.arange(n) + n, torch.arange(n)]))
