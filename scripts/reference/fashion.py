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
    """lookalike's weighted kNN (src/knn/knn.ts: k 20, weights exp(similarity / 0.07)) and mAP@10 of image search."""
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
