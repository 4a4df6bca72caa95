"""Trains the demo's Qwen3-VL-Reranker-style model on Fashion-MNIST, then converts it with llama.cpp's converter.

  OMP_NUM_THREADS=1 python scripts/reference/train_reranker.py --threads 1 \
      [--embedding /tmp/lookalike-hf-trained/embedding] [--steps 1500] [--seed 0] [--out src/demo/models]

The reranker is read beside LOOKALIKE_EMBED_MODEL=demo and shares its mmproj: it starts from the trained embedding
model (train.py's Hugging Face folder, --embedding), its vision tower FROZEN, so that fashion-embedding-mmproj.gguf
stays its mmproj; the text model and lm_head learn. The prompt is Qwen3-VL-Reranker's as lookalike lays it out
(src/vlm/rerank.ts qwenRerankerPrompt: system judge prompt, <Instruct>, <Query>, <Document>), and the score is the
one the converter's classifier head gives, sigmoid((lm_head[yes] - lm_head[no]) . h_last).
Training pairs come from the 60,000 training pictures only: the query is class words (English and Chinese, the
embedding demo's templates) or a picture, the document a picture; the answer is yes iff they show the same class.
Half of the negatives are hard: a class the embedding confuses (t-shirt/shirt/pullover/coat, sneaker/sandal/boot).
src/demo/models/reranker.json records the seed, the time and PyTorch's figures on the demo split: mAP@10 of image
queries and of the class names (en, zh) before re-ranking (the embedding's order) and after, at several depths.
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
from fashion import SIDE, TOKENS, demo_split, grid, load, patchify, resized, vision_vectors

ap = argparse.ArgumentParser()
ap.add_argument('--vision', default='/tmp/lookalike-hf-trained/vision', help="train.py's vision demo folder: the tower and the start")
ap.add_argument('--embedding', default='', help="train.py's embedding model folder: word queries' order, measured only with it")
ap.add_argument('--steps', type=int, default=1500)
ap.add_argument('--batch', type=int, default=48)
ap.add_argument('--per-class', type=int, default=1500, help='training pictures of each class used')
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--depths', default='10,20,30,50')
ap.add_argument('--pool-per-class', type=int, default=300, help="training pictures of each class mined for neighbours")
ap.add_argument('--neighbours', type=int, default=30, help="how deep in the embedding's order a mined document lies")
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--out', default=str(tiny.ROOT / 'src/demo/models'))
ap.add_argument('--hf', default='/tmp/lookalike-hf-trained/reranker')
args = ap.parse_args()
OUT, HF = Path(args.out), Path(args.hf)
DEPTHS = [int(d) for d in args.depths.split(',')]
torch.set_num_threads(args.threads)
random.seed(args.seed)
np.random.seed(args.seed)
torch.manual_seed(args.seed)

from transformers import PreTrainedTokenizerFast, Qwen3VLForConditionalGeneration  # noqa: E402
from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures  # noqa: E402

SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
          'Note that the answer can only be "yes" or "no".')
INSTRUCTION = 'Given a search query, retrieve relevant candidates that answer the query.'  # LOOKALIKE_RERANK_INSTRUCTION
ITEM, QUERY = "Represent the user's input.", "Retrieve images or text relevant to the user's query."  # the embedder's
TEMPLATES_EN = ['{}', 'a photo of {}', 'a photo of a {}', 'a picture of a {}', 'a {}']  # train.py's
TEMPLATES_ZH = ['{}', '一张{}的照片', '{}的图片']
# classes the embedding confuses most: a negative from the same group is a hard one
GROUPS = [['t-shirt', 'pullover', 'coat', 'shirt', 'dress'], ['sandal', 'sneaker', 'ankle boot'], ['trouser'], ['bag']]
GROUP_OF = {tiny.FASHION_CLASSES.index(c): [tiny.FASHION_CLASSES.index(o) for o in g if o != c] for g in GROUPS for c in g}

tokenizer = PreTrainedTokenizerFast.from_pretrained(args.vision)
ids = tiny.tokenizer_ids(tokenizer)
model = Qwen3VLForConditionalGeneration.from_pretrained(args.vision, dtype=torch.float32)
embedder = Qwen3VLForConditionalGeneration.from_pretrained(args.embedding, dtype=torch.float32).eval() if args.embedding else None
visual = model.model.visual
visual.requires_grad_(False)  # frozen: fashion-vision-mmproj.gguf stays the reranker's mmproj
frozen = {k: v.clone() for k, v in visual.state_dict().items()}
YES, NO = tokenizer.convert_tokens_to_ids('yes'), tokenizer.convert_tokens_to_ids('no')
IMAGE = '<|vision_start|>' + '<|image_pad|>' * TOKENS + '<|vision_end|>'


def rerank_ids(query_text: str | None) -> list[int]:
    """src/vlm/rerank.ts qwenRerankerPrompt, with the image query (or the words) and the document image."""
    prompt = (f'<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<Instruct>: {INSTRUCTION}<Query>:'
              f'{IMAGE if query_text is None else query_text}\n<Document>:{IMAGE}<|im_end|>\n<|im_start|>assistant\n')
    return tokenizer(prompt)['input_ids']


IMAGE_QUERY_IDS = rerank_ids(None)
# what every prompt starts with (two tokens short of '<Query>:', which BPE may join to the query's first word)
PREFIX = tokenizer(f'<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<Instruct>: {INSTRUCTION}<Query>:')['input_ids'][:-2]


@torch.no_grad()
def vision_features(images: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The frozen tower's outputs, computed once: main merger tokens (N, 4, 64) and each deepstack layer's."""
    mains, stacks = [], []
    for i in range(0, len(images), 500):
        chunk = images[i:i + 500]
        out = visual(patchify(chunk), grid_thw=grid(len(chunk)))
        mains.append(out.pooler_output.view(len(chunk), TOKENS, -1))
        stacks.append([f.view(len(chunk), TOKENS, -1) for f in out.deepstack_features])
    return torch.cat(mains), [torch.cat([s[k] for s in stacks]) for k in range(len(stacks[0]))]


POSITIONS: dict[tuple, torch.Tensor] = {}


def positions(seq: list[int], n: int) -> torch.Tensor:
    """M-RoPE positions of one sequence (transformers' get_rope_index, remembered), padded to n: (3, n)."""
    key = tuple(seq)
    if key not in POSITIONS:
        x = torch.tensor(seq)[None]
        images = int((x == ids['image']).sum()) // TOKENS
        pos, _ = model.model.get_rope_index(x, image_grid_thw=grid(images), video_grid_thw=None,
                                            attention_mask=torch.ones_like(x), mm_token_type_ids=(x == ids['image']).int())
        POSITIONS[key] = pos[:, 0]
    pos = POSITIONS[key]
    pad = pos[:, -1:].max() + 1 + torch.arange(n - pos.shape[1])
    return torch.cat([pos, pad[None].expand(3, -1)], 1)


def yes_logits(query_texts: list[str] | None, query_images: list[int] | None, docs: list[int], feats) -> torch.Tensor:
    """logit(yes) - logit(no) on the last token, for B (query, document) pairs: words or pictures as queries. Images are
    indices into `feats`, the frozen tower's outputs (vision_features)."""
    b = len(docs)
    if query_texts is None:
        seqs = [IMAGE_QUERY_IDS] * b
        images = np.stack([query_images, docs], 1).reshape(-1)  # each sequence's images in order
    else:
        seqs = [rerank_ids(t) for t in query_texts]
        images = np.asarray(docs)
    n = max(map(len, seqs))
    for seq in seqs:
        assert seq[:len(PREFIX)] == PREFIX, 'every prompt starts with the shared prefix'
    input_ids = torch.tensor([s + [ids['pad']] * (n - len(s)) for s in seqs])  # right padding: causal, so the last
    mask = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs])    # real token never sees it
    main, stack = feats
    encoded = BaseModelOutputWithDeepstackFeatures(pooler_output=tuple(main[images]),
                                                   deepstack_features=[tuple(f[images]) for f in stack])
    # the shared prefix (system prompt and instruction) evaluated once, its keys and values repeated for the batch:
    # the same as evaluating each whole sequence (causal attention), at a third of the cost
    p = len(PREFIX)
    cache = model.model(input_ids=torch.tensor([PREFIX]), position_ids=positions(seqs[0], n)[:, None, :p],
                        use_cache=True).past_key_values
    cache.batch_repeat_interleave(b)
    hidden = model.model(input_ids=input_ids[:, p:], attention_mask=mask, past_key_values=cache, use_cache=True,
                         position_ids=torch.stack([positions(s, n)[:, p:] for s in seqs], 1),
                         mm_encoder_outputs={'image': encoded}).last_hidden_state
    last = hidden[torch.arange(b), mask.sum(1) - 1 - p]
    w = model.lm_head.weight
    return last @ (w[YES] - w[NO])


def class_words(c: int, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(TEMPLATES_EN).format(tiny.FASHION_CLASSES[c])
    return rng.choice(TEMPLATES_ZH).format(tiny.FASHION_CLASSES_ZH[c])


train_x, train_y, test_x, test_y = load(Path(args.data))
gallery_idx, query_idx = demo_split(test_y)
g_labels, q_labels = test_y[gallery_idx], test_y[query_idx]
# a seeded subset of the training pictures, so that the frozen tower's outputs fit in memory, computed once
subset = np.sort(np.concatenate([np.random.permutation(np.flatnonzero(train_y == c))[:args.per_class] for c in range(10)]))
t0 = time.time()
train_r, demo_r = resized(train_x[subset]), resized(test_x[np.concatenate([gallery_idx, query_idx])])
train_feats, demo_feats = vision_features(train_r), vision_features(demo_r)
print(f'resized and encoded {len(train_r) + len(demo_r)} pictures with the frozen tower in {time.time() - t0:.0f} s', flush=True)
by_class = [np.flatnonzero(train_y[subset] == c) for c in range(10)]
GALLERY = np.arange(len(gallery_idx))  # where the demo split's pictures are in demo_r / demo_feats
QUERIES = len(gallery_idx) + np.arange(len(query_idx))


def pairs(rng: random.Random, n: int) -> tuple[list[int], list[int], list[float]]:
    """Query classes, document classes and answers: half yes; of the no's, half from a confusable class."""
    qc, dc, y = [], [], []
    for _ in range(n):
        c = rng.randrange(10)
        r = rng.random()
        if r < 0.5:
            d = c
        elif r < 0.75 and len(GROUP_OF[c]):
            d = rng.choice(GROUP_OF[c])
        else:
            d = rng.choice([o for o in range(10) if o != c])
        qc.append(c), dc.append(d), y.append(float(c == d))
    return qc, dc, y


# -- the embedding's order on the demo split, which re-ranking starts from ------------------------------------------
def embed_images(images: np.ndarray) -> torch.Tensor:
    out = []
    prompt = tokenizer.apply_chat_template(
        [{'role': 'system', 'content': [{'type': 'text', 'text': ITEM}]}, {'role': 'user', 'content': [{'type': 'image'}]}],
        add_generation_prompt=True, tokenize=False).replace('<|image_pad|>', '<|image_pad|>' * TOKENS)
    input_ids = torch.tensor(tokenizer(prompt)['input_ids'])
    with torch.no_grad():
        for i in range(0, len(images), 250):
            chunk = images[i:i + 250]
            x = input_ids[None].expand(len(chunk), -1)
            h = embedder.model(input_ids=x, attention_mask=torch.ones_like(x), pixel_values=patchify(chunk),
                               image_grid_thw=grid(len(chunk)), mm_token_type_ids=(x == ids['image']).int()).last_hidden_state
            out.append(F.normalize(h[:, -1], dim=-1))
    return torch.cat(out)


def embed_text(text: str) -> torch.Tensor:
    prompt = tokenizer.apply_chat_template(
        [{'role': 'system', 'content': [{'type': 'text', 'text': QUERY}]}, {'role': 'user', 'content': [{'type': 'text', 'text': text}]}],
        add_generation_prompt=True, tokenize=False)
    x = torch.tensor(tokenizer(prompt)['input_ids'])[None]
    with torch.no_grad():
        return F.normalize(embedder.model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[0, -1], dim=-1)


# image queries in the vision demo's order (mean pooling), which a server with LOOKALIKE_RERANK_MODEL=demo searches;
# words in the embedding model's, when one is given
gallery_vecs, query_vecs = vision_vectors(visual, demo_r[GALLERY]), vision_vectors(visual, demo_r[QUERIES])
word_gallery = embed_images(demo_r[GALLERY]) if embedder else None
WORDS = {'en': tiny.FASHION_CLASSES, 'zh': tiny.FASHION_CLASSES_ZH}
word_vecs = {lang: torch.stack([embed_text(w) for w in words]) for lang, words in WORDS.items()} if embedder else {}
MAX_DEPTH = max(DEPTHS)


def average_precision(labels: list[int], truth: int) -> float:
    """mAP@10's term, as bench/quality.ts and fashion.knn_and_map count it (every class has 100 gallery pictures)."""
    hits, total = 0, 0.0
    for i, label in enumerate(labels[:10]):
        if label == truth:
            hits += 1
            total += hits / (i + 1)
    return total / 10


def evaluate() -> dict:
    """mAP@10 before re-ranking and after, at each depth: the top `depth` of the embedding's order re-scored by the
    reranker (ties keep the embedding's order, as src/vlm/rerank.ts sorts), the rest after them."""
    model.eval()
    figures = {}
    cases = [('image', query_vecs, gallery_vecs, [None] * len(query_idx), q_labels, QUERIES)]
    for lang in word_vecs:
        cases.append((f'words_{lang}', word_vecs[lang], word_gallery, list(WORDS[lang]), np.arange(10), None))
    with torch.no_grad():
        for name, vecs, gallery, texts, truths, images in cases:
            ranked = (vecs @ gallery.T).topk(MAX_DEPTH, dim=1)
            top = ranked.indices.numpy()
            started = time.time()
            scores = []
            for qi in range(len(top)):
                docs = GALLERY[top[qi]]
                if texts[qi] is None:
                    s = yes_logits(None, [images[qi]] * MAX_DEPTH, docs, demo_feats)
                else:
                    s = yes_logits([texts[qi]] * MAX_DEPTH, None, docs, demo_feats)
                scores.append(s.numpy())
            ms_per_candidate = (time.time() - started) * 1000 / (len(top) * MAX_DEPTH)
            before = np.mean([average_precision(g_labels[top[qi]].tolist(), truths[qi]) for qi in range(len(top))])
            fig = {'queries': len(top), 'before': float(before), 'msPerCandidate': round(ms_per_candidate, 2)}
            # which judge tells the query's class from the others better among the first 10 candidates: the
            # reranker's score, or the embedding's similarity that ordered them
            same = (g_labels[top[:, :10]] == np.asarray(truths)[:, None]).reshape(-1)
            for judge, values in (('reranker', np.stack(scores)[:, :10]), ('embedding', ranked.values[:, :10].numpy())):
                v = values.reshape(-1)
                pos, neg = v[same], v[~same]
                fig[f'auroc@10_{judge}'] = float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean())
            for depth in DEPTHS:
                aps = []
                for qi in range(len(top)):
                    order = sorted(range(depth), key=lambda j: (-scores[qi][j], j))
                    aps.append(average_precision(g_labels[top[qi][order]].tolist(), truths[qi]))
                fig[f'after@{depth}'] = float(np.mean(aps))
            figures[name] = fig
    model.train()
    return figures


with torch.no_grad():  # the shared prefix evaluated once changes nothing: the same scores as (almost) whole prompts
    shared = PREFIX
    check = [yes_logits(['a photo of a coat', '短靴'], None, [0, 1], train_feats), yes_logits(None, [2, 3], [4, 5], train_feats)]
    PREFIX = shared[:1]
    whole = [yes_logits(['a photo of a coat', '短靴'], None, [0, 1], train_feats), yes_logits(None, [2, 3], [4, 5], train_feats)]
    PREFIX = shared
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(check, whole)), (check, whole)

report = {'seed': args.seed, 'threads': args.threads, 'data': 'Fashion-MNIST (Debian dataset-fashion-mnist)',
          'resolution': f'{SIDE}x{SIDE} ({TOKENS} tokens)', 'startedFrom': 'the vision demo (train.py): its tower frozen, the text model from transformers\' init',
          'prompt': {'system': SYSTEM, 'instruction': INSTRUCTION}, 'wordQueries': WORDS,
          'split': 'gallery: the first 100 test images of each class; image queries: the next 20 of each; '
                   'word queries: the class names, en and zh',
          }

# -- pairs as re-ranking meets them: documents among the vision tower's nearest neighbours of the query -----------
t0 = time.time()
subset_labels = train_y[subset]
pool = np.concatenate([by_class[c][:args.pool_per_class] for c in range(10)])  # indices into the subset
pool_vecs = vision_vectors(visual, train_r[pool])
sims = pool_vecs @ pool_vecs.T
sims.fill_diagonal_(-2)
image_neighbours = sims.topk(args.neighbours, dim=1).indices.numpy()
pool_labels = subset_labels[pool]
report['mined'] = {'pool': len(pool), 'neighbours': args.neighbours,
                   'yesShare': float((pool_labels[image_neighbours] == pool_labels[:, None]).mean())}
print(f'mined the vision tower\'s neighbours in {time.time() - t0:.0f} s: {report["mined"]}', flush=True)


def batch(rng: random.Random, words: bool) -> tuple[list[str] | None, list[int] | None, list[int], list[float]]:
    """Pairs by class (with confusable negatives); for pictures, half of them a query and one of its neighbours."""
    qc, dc, y = pairs(rng, args.batch if words else args.batch // 2)
    docs = [rng.choice(by_class[d]) for d in dc]
    texts = [class_words(c, rng) for c in qc] if words else None
    images = None if words else [rng.choice(by_class[c]) for c in qc]
    for _ in range(args.batch - len(qc)):
        i = rng.randrange(len(pool))
        j = pool[rng.choice(image_neighbours[i])]
        images.append(pool[i]), y.append(float(subset_labels[j] == subset_labels[pool[i]]))
        docs.append(j)
    return texts, images, docs, y


params = [p for n, p in model.named_parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=args.steps, pct_start=0.1)
rng = random.Random(args.seed)
model.train()
t0 = time.time()
for step in range(args.steps):
    texts, images, docs, y = batch(rng, words=step % 2 == 0)  # words and pictures as queries in turn
    logits = yes_logits(texts, images, docs, train_feats)
    loss = F.binary_cross_entropy_with_logits(logits, torch.tensor(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 50 == 0 or step == args.steps - 1:
        el = time.time() - t0
        acc = float(((logits > 0).float() == torch.tensor(y)).float().mean())
        print(f'reranker step {step + 1}/{args.steps} loss {loss.item():.3f} acc {acc:.2f} {el:.0f} s, '
              f'{(step + 1) / el:.2f} steps/s, ETA {el / (step + 1) * (args.steps - step - 1):.0f} s', flush=True)
model.eval()
assert all(torch.equal(frozen[k], v) for k, v in visual.state_dict().items()), 'the vision tower moved'
report.update({'steps': args.steps, 'batch': args.batch, 'seconds': round(time.time() - t0), 'trained': evaluate()})
print('trained', json.dumps(report['trained']), flush=True)

shutil.rmtree(HF, ignore_errors=True)
tiny.save_hf(model, tokenizer, HF, 'reranker', TOKENS, TOKENS)
OUT.mkdir(parents=True, exist_ok=True)
tiny.convert(HF, OUT / 'fashion-reranker.gguf', mmproj=False, outtype='f16')
report['versions'] = {'torch': torch.__version__, 'transformers': __import__('transformers').__version__}
(OUT / 'reranker.json').write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
print(json.dumps(report, indent=1, ensure_ascii=False))
