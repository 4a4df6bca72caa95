"""Trains the demo's tiny Qwen3-VL models on Fashion-MNIST (Debian's dataset-fashion-mnist), then converts them.

  python scripts/reference/train.py [--vision-steps 8000] [--embedding-steps 1200] [--instance-weight 0.1] [--seed 0] [--out src/engine/demo/models]

1. The vision tower (transformers' Qwen3VLForConditionalGeneration, tiny; only its mmproj is used): cross-entropy
   through a cosine classifier on the L2-normalised mean of the main merger tokens, which is lookalike's `mean`
   pooling, so the trained geometry is the one the gallery searches.
2. A Qwen3-VL-Embedding-style model, its vision tower started from step 1: images (with the item instruction) and
   class descriptions in English and Chinese (with the query instruction) embedded as Qwen's code does (last token,
   L2-normalised), trained contrastively so that words find pictures and pictures cluster by class.
Both see two augmented views of each picture (fashion.AUGMENT: mirror, small shifts and scale changes, drawn afresh
each step) and add an instance term (SimCLR's NT-Xent between the two views) to the class loss, so that a mirror or a
reframing does not change what a picture is, and distinct pictures of one class do not collapse onto one vector
(which made every trouser a duplicate of every other).
Images are served and trained at 64x64 (4 tokens): 28x28 resized with Pillow's bicubic, as lookalike does; the
mmproj files carry that resolution as llama.cpp's own clip.vision.image_min_pixels / image_max_pixels keys.
Only the 60,000 training images are used for training; src/engine/demo/models/training.json records the seed, the time
taken and PyTorch's figures on the demo split (gallery: the first 100 test images of each class; queries: the next
20 of each), which the quality-floor test holds lookalike's whole pipeline to.
"""
import argparse
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import tiny
from fashion import (AUGMENT, GALLERY_PER_CLASS, QUERIES_PER_CLASS, SHOES, SIDE, TOKENS, VARIANTS, augment, demo_split,
                     grid, instance_loss, knn_and_map, load, patchify, resized, variant, vision_vectors)

ap = argparse.ArgumentParser()
ap.add_argument('--vision-steps', type=int, default=8000)
ap.add_argument('--embedding-steps', type=int, default=1200)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--out', default=str(tiny.ROOT / 'src/engine/demo/models'))
ap.add_argument('--hf', default='/tmp/lookalike-hf-trained')
ap.add_argument('--vision-from', help='a vision tower this script saved (HF/vision): train only the embedding model '
                                      'on it')
ap.add_argument('--instance-weight', type=float, default=0.1)
ap.add_argument('--instance-temperature', type=float, default=0.2)
args = ap.parse_args()
OUT, HF = Path(args.out), Path(args.hf)
OUT.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(args.threads)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


train_x, train_y, test_x, test_y = load(Path(args.data))
t0 = time.time()
train_r, test_r = resized(train_x), resized(test_x)
print(f'resized {len(train_r) + len(test_r)} images in {time.time() - t0:.0f} s')
gallery_idx, query_idx = demo_split(test_y)
report = {'seed': args.seed, 'threads': args.threads, 'data': 'Fashion-MNIST (Debian dataset-fashion-mnist)',
          'resolution': f'{SIDE}x{SIDE} ({TOKENS} tokens)', 'classes': tiny.FASHION_CLASSES, 'classesZh': tiny.FASHION_CLASSES_ZH,
          'split': {'gallery': f'the first {GALLERY_PER_CLASS} test images of each class',
                    'queries': f'the next {QUERIES_PER_CLASS} of each'},
          'augmentation': {**AUGMENT, 'views': 2, 'shift_unit': f'pixels of the {SIDE}x{SIDE} picture', 'fill': 'black'},
          'loss': {'instance': "SimCLR's NT-Xent between two augmented views of each picture, over the batch's views",
                   'instanceWeight': args.instance_weight, 'instanceTemperature': args.instance_temperature},
          'variants': {k: v | {'shift': list(v['shift'])} for k, v in VARIANTS.items()}}
AUG = torch.Generator().manual_seed(args.seed)  # the augmentations' own stream: the same views on every run


def step_(opt, sched, loss, name: str, step: int, total: int, t0: float) -> None:
    """One optimiser step, with progress (count, rate, ETA) every 100 steps."""
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 100 == 0 or step == total - 1:
        el = time.time() - t0
        print(f'{name} step {step + 1}/{total} loss {loss.item():.3f} {el:.0f} s, {(step + 1) / el:.1f} steps/s, ETA {el / (step + 1) * (total - step - 1):.0f} s', flush=True)


def robustness(vectors) -> dict:
    """kNN accuracy and mAP@10 of the demo queries, plain and as each fixed variant, against the plain gallery; the
    shoes alone (plain and mirrored); and how near copies and distinct pictures score at the duplicates threshold."""
    g, gl, ql = vectors(test_r[gallery_idx]), test_y[gallery_idx], test_y[query_idx]
    out = {}
    for name, v in VARIANTS.items():
        q = vectors(variant(test_r[query_idx], **v))
        out[name] = knn_and_map(g, gl, q, ql)
        if name in ('plain', 'mirrored'):
            shoes = np.isin(ql, SHOES)
            out[f'shoes {name}'] = knn_and_map(g, gl, q[torch.from_numpy(shoes)], ql[shoes])
    sims = g @ g.T
    distinct = sims[torch.triu(torch.ones_like(sims, dtype=torch.bool), diagonal=1)]
    copies = {'shifted 2 px': dict(mirror=False, scale=1.0, shift=(2, 2)),
              'scaled 0.95': dict(mirror=False, scale=0.95, shift=(0, 0))}
    out['duplicates'] = {'distinctPairsAt0.97': int((distinct >= 0.97).sum()), 'distinctMax': float(distinct.max()),
                         'distinctP99': float(distinct.quantile(0.99))}
    for name, v in copies.items():
        c = (vectors(variant(test_r[gallery_idx], **v)) * g).sum(1)
        out['duplicates'][f'copy {name}'] = {'min': float(c.min()), 'median': float(c.median()),
                                              'shareAt0.97': float((c >= 0.97).float().mean())}
    return out


def evaluate_vision(visual) -> dict:
    figures = robustness(lambda images: vision_vectors(visual, images))
    return {**figures.pop('plain'), 'augmented': figures}


# 1. The vision tower ------------------------------------------------------------------------------------------------
seed_all(args.seed)
tokenizer = tiny.build_tokenizer(tiny.default_corpus())
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration  # noqa: E402

ids = tiny.tokenizer_ids(tokenizer)
cfg = Qwen3VLConfig(vision_config=tiny.vision_config(), text_config=tiny.text_config(len(tokenizer)),
                    image_token_id=ids['image'], video_token_id=ids['video'], vision_start_token_id=ids['vision_start'],
                    vision_end_token_id=ids['vision_end'], tie_word_embeddings=False)
instruct = Qwen3VLForConditionalGeneration(cfg)  # transformers' own init
visual = instruct.model.visual
if args.vision_from:  # the same stage 1, done before: its weights and its figures (stage 2 has its own seeds)
    visual.load_state_dict(Qwen3VLForConditionalGeneration.from_pretrained(args.vision_from).model.visual.state_dict())
    report['vision'] = json.loads((Path(args.vision_from) / 'training-vision.json').read_text())
else:
    report['vision'] = {'untrained': evaluate_vision(visual.eval())}
    print('vision untrained', report['vision']['untrained'])
head = torch.nn.Parameter(torch.randn(10, 64) * 0.1)
opt = torch.optim.AdamW(list(visual.parameters()) + [head], lr=2e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.vision_steps, pct_start=0.1)
visual.train()
t0 = time.time()
order = np.random.permutation(len(train_r))
BATCH = 64  # pictures a step, each seen as two views: 128 through the tower, as many as before augmentation
for step in range(0 if args.vision_from else args.vision_steps):
    b = order[(step * BATCH) % len(order):][:BATCH]
    if len(b) < BATCH:
        order = np.random.permutation(len(train_r))
        b = order[:BATCH]
    views = np.concatenate([augment(train_r[b], AUG), augment(train_r[b], AUG)])
    main = visual(patchify(views), grid_thw=grid(2 * BATCH)).pooler_output
    feats = F.normalize(main.view(2 * BATCH, TOKENS, -1).mean(1), dim=-1)
    logits = 16 * feats @ F.normalize(head, dim=-1).T  # a cosine classifier: classes as directions on the sphere
    y = torch.from_numpy(train_y[b].astype(np.int64)).repeat(2)
    instance = instance_loss(feats[:BATCH], feats[BATCH:], args.instance_temperature)
    loss = F.cross_entropy(logits, y) + args.instance_weight * instance
    step_(opt, sched, loss, 'vision', step, args.vision_steps, t0)
visual.eval()
if not args.vision_from:
    report['vision'].update({'steps': args.vision_steps, 'batch': f'{BATCH} pictures x 2 views',
                             'epochs': round(args.vision_steps * BATCH / len(train_r), 2),
                             'seconds': round(time.time() - t0), 'trained': evaluate_vision(visual)})
    print('vision trained', report['vision']['trained'])
    shutil.rmtree(HF / 'vision', ignore_errors=True)
    tiny.save_hf(instruct, tokenizer, HF / 'vision', 'instruct', TOKENS, TOKENS)
    (HF / 'vision' / 'training-vision.json').write_text(json.dumps(report['vision'], indent=1) + '\n')
    tiny.convert(HF / 'vision', OUT / 'fashion-vision-mmproj.gguf', mmproj=True, outtype='f16', tokens=(TOKENS, TOKENS))

# 2. The embedding model ---------------------------------------------------------------------------------------------
seed_all(args.seed + 1)
AUG.manual_seed(args.seed + 1)
ITEM, QUERY = "Represent the user's input.", "Retrieve images or text relevant to the user's query."
TEMPLATES_EN = ['{}', 'a photo of {}', 'a photo of a {}', 'a picture of a {}', 'a {}']
TEMPLATES_ZH = ['{}', '一张{}的照片', '{}的图片']
embedder = Qwen3VLForConditionalGeneration(cfg)
embedder.model.visual.load_state_dict(visual.state_dict())
model = embedder.model


def chat_ids(instruction: str, text: str | None, image: bool) -> list[int]:
    content = ([{'type': 'image'}] if image else []) + ([{'type': 'text', 'text': text}] if text else [])
    conv = [{'role': 'system', 'content': [{'type': 'text', 'text': instruction}]}, {'role': 'user', 'content': content}]
    prompt = tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    if image:
        prompt = prompt.replace('<|image_pad|>', '<|image_pad|>' * TOKENS)
    return tokenizer(prompt)['input_ids']


IMAGE_IDS = torch.tensor(chat_ids(ITEM, None, True))


def embed_images(images: np.ndarray) -> torch.Tensor:
    b = len(images)
    input_ids = IMAGE_IDS[None].expand(b, -1)
    out = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=patchify(images),
                image_grid_thw=grid(b), mm_token_type_ids=(input_ids == ids['image']).int())
    return F.normalize(out.last_hidden_state[:, -1], dim=-1)


def embed_texts(texts: list[str]) -> torch.Tensor:
    seqs = [chat_ids(QUERY, t, False) for t in texts]
    n = max(map(len, seqs))
    input_ids = torch.tensor([s + [ids['pad']] * (n - len(s)) for s in seqs])  # right padding: causal, so the
    mask = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs])    # last real token never sees it
    hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return F.normalize(hidden[torch.arange(len(seqs)), mask.sum(1) - 1], dim=-1)


def class_texts(rng: random.Random) -> list[str]:
    out = []
    for en, zh in zip(tiny.FASHION_CLASSES, tiny.FASHION_CLASSES_ZH):
        out.append(rng.choice(TEMPLATES_EN).format(en) if rng.random() < 0.6 else rng.choice(TEMPLATES_ZH).format(zh))
    return out


def embed_all(images: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([embed_images(images[i:i + 250]) for i in range(0, len(images), 250)])


def evaluate_embedding() -> dict:
    augmented = robustness(embed_all)
    figures = augmented.pop('plain')
    with torch.no_grad():
        g, q = embed_all(test_r[gallery_idx]), embed_all(test_r[query_idx])
        for lang, names in (('en', [f'a photo of {c}' for c in tiny.FASHION_CLASSES]), ('zh', tiny.FASHION_CLASSES_ZH)):
            t = embed_texts(names)
            figures[f'zeroShot_{lang}'] = float(((q @ t.T).argmax(1).numpy() == test_y[query_idx]).mean())
            top10 = (t @ g.T).topk(10, dim=1).indices  # words find pictures: precision@10 of each class name
            figures[f'textP@10_{lang}'] = float(np.mean([(test_y[gallery_idx][top10[c]] == c).mean() for c in range(10)]))
    return figures | {'augmented': augmented}


report['embedding'] = {'untrained': evaluate_embedding()}
print('embedding untrained', report['embedding']['untrained'])
opt = torch.optim.AdamW(embedder.parameters(), lr=1e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=args.embedding_steps, pct_start=0.1)
rng = random.Random(args.seed)
embedder.train()
t0 = time.time()
BATCH_E = 32  # pictures a step, each seen as two views
for step in range(args.embedding_steps):
    b = np.random.randint(0, len(train_r), BATCH_E)
    y = torch.from_numpy(train_y[b].astype(np.int64)).repeat(2)
    img = embed_images(np.concatenate([augment(train_r[b], AUG), augment(train_r[b], AUG)]))
    txt = embed_texts(class_texts(rng))
    logits = img @ txt.T / 0.05
    # images to their class's words, and images to the images of their class (supervised contrastive), so
    # both search by words and search by image work in the one space; the instance term keeps pictures apart
    n = 2 * BATCH_E
    same = (y[:, None] == y[None]).float() - torch.eye(n)
    sims = (img @ img.T / 0.1) - torch.eye(n) * 1e4
    supcon = -(same * F.log_softmax(sims, dim=1)).sum(1) / same.sum(1).clamp(min=1)
    instance = instance_loss(img[:BATCH_E], img[BATCH_E:], args.instance_temperature)
    step_(opt, sched, F.cross_entropy(logits, y) + supcon.mean() + args.instance_weight * instance, 'embedding', step,
          args.embedding_steps, t0)
embedder.eval()
report['embedding'].update({'steps': args.embedding_steps, 'batch': f'{BATCH_E} pictures x 2 views',
                            'seconds': round(time.time() - t0),
                            'trained': evaluate_embedding()})
print('embedding trained', report['embedding']['trained'])
shutil.rmtree(HF / 'embedding', ignore_errors=True)
tiny.save_hf(embedder, tokenizer, HF / 'embedding', 'embedding', TOKENS, TOKENS)
tiny.convert(HF / 'embedding', OUT / 'fashion-embedding-mmproj.gguf', mmproj=True, outtype='f16', tokens=(TOKENS, TOKENS))
tiny.convert(HF / 'embedding', OUT / 'fashion-embedding-text.gguf', mmproj=False, outtype='f16')
report['versions'] = {'torch': torch.__version__, 'transformers': __import__('transformers').__version__}
(OUT / 'training.json').write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
print(json.dumps(report, indent=1, ensure_ascii=False))
