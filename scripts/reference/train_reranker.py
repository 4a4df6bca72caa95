"""Trains the demo's Qwen3-VL-Reranker-style model on Fashion-MNIST, then converts it with llama.cpp's converter.

  OMP_NUM_THREADS=1 python scripts/reference/train_reranker.py --threads 1 \
      --embedding <train.py's hf folder>/embedding [--steps 3000] [--seed 0] [--out src/engine/demo/models]

The reranker is read beside LOOKALIKE_EMBED_MODEL=demo and shares its mmproj: it starts from the trained embedding
model (train.py's Hugging Face folder, --embedding), its vision tower FROZEN, so that fashion-embedding-mmproj.gguf
stays its mmproj; the text model and lm_head learn. The prompt is Qwen3-VL-Reranker's as lookalike lays it out
(src/engine/vlm/rerank.ts qwenRerankerPrompt: system judge prompt, <Instruct>, <Query>, <Document>), and the score is the
one the converter's classifier head gives, sigmoid((lm_head[yes] - lm_head[no]) . h_last).
Training pairs come from the training pictures only: the query is class words (English and Chinese, the embedding
demo's templates) or a picture, the document a picture; the answer is yes iff they show the same class. Half of each
batch is drawn by class (of the no's, half from a class the embedding confuses), half is mined: documents among the
embedding's nearest neighbours of the query (a picture, or a class name), the near misses re-ranking meets.
It then measures, on the demo split (the embedding's order re-ranked, as search with LOOKALIKE_EMBED_MODEL=demo and
LOOKALIKE_RERANK_MODEL=demo does) for image queries and the class names (en, zh): mAP@10 before and after at each
depth, what a perfect judge would reach at that depth, the judge's AUROC beside the embedding's, and the judge's
logit fused with the embedding's similarity (logit + w * similarity, w chosen on validation pictures drawn from the
training set, never on the demo split). src/engine/demo/models/reranker.json records all of it with the seed and the time.
"""
import argparse
import hashlib
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import tiny
from fashion import SIDE, TOKENS, demo_split, grid, load, patchify, resized

ap = argparse.ArgumentParser()
ap.add_argument('--embedding', default='/tmp/lookalike-hf-trained/embedding',
                help="train.py's embedding model folder: the start, the frozen tower and the first stage's order")
ap.add_argument('--steps', type=int, default=3000)
ap.add_argument('--batch', type=int, default=48)
ap.add_argument('--lr', type=float, default=1e-3)
ap.add_argument('--per-class', type=int, default=1500, help='training pictures of each class used')
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--depths', default='10,20,30,50')
ap.add_argument('--pool-per-class', type=int, default=300, help="training pictures of each class mined for neighbours")
ap.add_argument('--neighbours', type=int, default=120,
                help="how deep in the embedding's order of the pool a mined document lies (120 of 3,000 pictures is "
                     "as deep as 40 of the demo gallery's 1,000)")
ap.add_argument('--mined', type=float, default=0.5, help='the share of each batch mined from the neighbours')
ap.add_argument('--eval-at', default='1000,2000', help='steps after which to measure too (a list): does more training help?')
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--out', default=str(tiny.ROOT / 'src/engine/demo/models'))
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
WORDS = {'en': tiny.FASHION_CLASSES, 'zh': tiny.FASHION_CLASSES_ZH}
FUSION_WEIGHTS = [0, 1, 2, 5, 10, 20, 50, 100]  # w in logit + w * similarity

tokenizer = PreTrainedTokenizerFast.from_pretrained(args.embedding)
ids = tiny.tokenizer_ids(tokenizer)
model = Qwen3VLForConditionalGeneration.from_pretrained(args.embedding, dtype=torch.float32)
embedder = Qwen3VLForConditionalGeneration.from_pretrained(args.embedding, dtype=torch.float32).eval()
visual = model.model.visual
visual.requires_grad_(False)  # frozen: fashion-embedding-mmproj.gguf stays the reranker's mmproj
frozen = {k: v.clone() for k, v in visual.state_dict().items()}
YES, NO = tokenizer.convert_tokens_to_ids('yes'), tokenizer.convert_tokens_to_ids('no')
IMAGE = '<|vision_start|>' + '<|image_pad|>' * TOKENS + '<|vision_end|>'


def rerank_ids(query_text: str | None) -> list[int]:
    """src/engine/vlm/rerank.ts qwenRerankerPrompt, with the image query (or the words) and the document image."""
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


# -- the embedding demo's vectors: the first stage's order, which re-ranking starts from, and the mined neighbours --
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


WORD_VECS = {lang: torch.stack([embed_text(w) for w in words]) for lang, words in WORDS.items()}

train_x, train_y, test_x, test_y = load(Path(args.data))
gallery_idx, query_idx = demo_split(test_y)
# a seeded subset of the training pictures, so that the frozen tower's outputs fit in memory, computed once; a
# validation split (gallery and queries as the demo's, from training pictures outside the subset) chooses the fusion
subset = np.sort(np.concatenate([np.random.permutation(np.flatnonzero(train_y == c))[:args.per_class] for c in range(10)]))
rest = np.setdiff1d(np.arange(len(train_y)), subset)
val_gallery = np.sort(np.concatenate([rest[train_y[rest] == c][:100] for c in range(10)]))
val_queries = np.sort(np.concatenate([rest[train_y[rest] == c][100:110] for c in range(10)]))
t0 = time.time()
train_r = resized(train_x[subset])
SPLITS = {'demo': (test_x[gallery_idx], test_y[gallery_idx], test_x[query_idx], test_y[query_idx]),
          'validation': (train_x[val_gallery], train_y[val_gallery], train_x[val_queries], train_y[val_queries])}
split_r = {name: (resized(g), gl, resized(q), ql) for name, (g, gl, q, ql) in SPLITS.items()}
train_feats = vision_features(train_r)
split_feats = {name: vision_features(np.concatenate([g, q])) for name, (g, _, q, _) in split_r.items()}
split_vecs = {name: (embed_images(g), embed_images(q)) for name, (g, _, q, _) in split_r.items()}
print(f'resized and encoded {len(train_r) + sum(len(g) + len(q) for g, _, q, _ in split_r.values())} pictures '
      f'in {time.time() - t0:.0f} s', flush=True)
subset_labels = train_y[subset]
by_class = [np.flatnonzero(subset_labels == c) for c in range(10)]


def average_precision(labels: list[int], truth: int) -> float:
    """mAP@10's term, as bench/quality.ts and fashion.knn_and_map count it (every class has 100 gallery pictures)."""
    hits, total = 0, 0.0
    for i, label in enumerate(labels[:10]):
        if label == truth:
            hits += 1
            total += hits / (i + 1)
    return total / 10


def map_after(run: dict, depth: int, score: np.ndarray) -> float:
    """mAP@10 with the top `depth` ordered by `score` (ties keep the embedding's order, as src/engine/vlm/rerank.ts sorts),
    the rest after them."""
    aps = []
    for qi, labels in enumerate(run['labels']):
        order = sorted(range(depth), key=lambda j: (-score[qi][j], j))
        aps.append(average_precision(labels[order].tolist() + labels[depth:].tolist(), run['truths'][qi]))
    return float(np.mean(aps))


def auroc(score: np.ndarray, same: np.ndarray) -> float:
    pos, neg = score[same], score[~same]
    return float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean())


def judge_runs(split: str) -> dict:
    """For each kind of query on a split: the embedding's top MAX_DEPTH (labels, similarities) and the judge's logits."""
    g_r, g_labels, q_r, q_labels = split_r[split]
    g_vecs, q_vecs = split_vecs[split]
    feats = split_feats[split]
    gallery = np.arange(len(g_r))  # where the split's pictures are in its features: the gallery, then the queries
    cases = [('image', q_vecs, [None] * len(q_r), q_labels, len(g_r) + np.arange(len(q_r)))]
    for lang, vecs in WORD_VECS.items():
        cases.append((f'words_{lang}', vecs, list(WORDS[lang]), np.arange(10), None))
    runs = {}
    model.eval()
    with torch.no_grad():
        for name, vecs, texts, truths, images in cases:
            ranked = (vecs @ g_vecs.T).topk(max(DEPTHS), dim=1)
            top = ranked.indices.numpy()
            started, logits = time.time(), []
            for qi in range(len(top)):
                docs = gallery[top[qi]]
                if texts[qi] is None:
                    logits.append(yes_logits(None, [images[qi]] * len(docs), docs, feats).numpy())
                else:
                    logits.append(yes_logits([texts[qi]] * len(docs), None, docs, feats).numpy())
            runs[name] = {'labels': g_labels[top], 'truths': np.asarray(truths), 'sims': ranked.values.numpy(),
                          'logits': np.stack(logits), 'ms': (time.time() - started) * 1000 / top.size}
    model.train()
    return runs


def figures(run: dict, fusion: float | None) -> dict:
    """mAP@10 before and after at each depth (the judge alone, a perfect judge, the judge fused with the embedding);
    the AUROC of the judge and of the embedding's similarity among the first 10 and the first 50 candidates."""
    labels, logits, sims = run['labels'], run['logits'], run['sims']
    same = labels == run['truths'][:, None]
    out = {'queries': len(labels), 'before': map_after(run, 1, sims), 'msPerCandidate': round(run['ms'], 2)}
    for n in (10, max(DEPTHS)):
        out[f'auroc@{n}_reranker'] = auroc(logits[:, :n], same[:, :n])
        out[f'auroc@{n}_embedding'] = auroc(sims[:, :n], same[:, :n])
    for d in DEPTHS:
        out[f'after@{d}'] = map_after(run, d, logits)
        out[f'perfect@{d}'] = map_after(run, d, same.astype(float))
        if fusion is not None:
            out[f'fused@{d}'] = map_after(run, d, logits + fusion * sims)
    return out


def evaluate() -> dict:
    """The fusion weight that does best on the validation split (all depths and kinds of query alike), then every
    figure on the demo split with it."""
    val = judge_runs('validation')
    grid_ = {w: float(np.mean([map_after(r, d, r['logits'] + w * r['sims']) for r in val.values() for d in DEPTHS]))
             for w in FUSION_WEIGHTS}
    fusion = max(FUSION_WEIGHTS, key=lambda w: (grid_[w], -w))
    demo = judge_runs('demo')
    out = {'fusion': {'weight': fusion, 'validation': {str(w): round(v, 4) for w, v in grid_.items()}}}
    for name, run in demo.items():
        out[name] = figures(run, fusion)
        out[name]['fusedByWeight@20'] = {str(w): round(map_after(run, 20, run['logits'] + w * run['sims']), 4)
                                        for w in FUSION_WEIGHTS}
    out['validation'] = {name: figures(run, fusion) for name, run in val.items()}
    return out


with torch.no_grad():  # the shared prefix evaluated once changes nothing: the same scores as (almost) whole prompts
    shared = PREFIX
    check = [yes_logits(['a photo of a coat', '短靴'], None, [0, 1], train_feats), yes_logits(None, [2, 3], [4, 5], train_feats)]
    PREFIX = shared[:1]
    whole = [yes_logits(['a photo of a coat', '短靴'], None, [0, 1], train_feats), yes_logits(None, [2, 3], [4, 5], train_feats)]
    PREFIX = shared
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(check, whole)), (check, whole)

report = {'seed': args.seed, 'threads': args.threads, 'data': 'Fashion-MNIST (Debian dataset-fashion-mnist)',
          'resolution': f'{SIDE}x{SIDE} ({TOKENS} tokens)',
          'startedFrom': "the embedding demo (train.py's embedding model): its tower frozen, its text model trained on",
          'prompt': {'system': SYSTEM, 'instruction': INSTRUCTION}, 'wordQueries': WORDS,
          'split': 'demo: the gallery is the first 100 test images of each class, image queries the next 20 of each, '
                   'word queries the class names (en, zh), in the embedding demo\'s order; validation (chooses the '
                   'fusion weight): 100 and 10 training pictures of each class outside the ones trained on',
          }

# -- mined pairs, as re-ranking meets them: documents among the embedding's nearest neighbours of the query ---------
t0 = time.time()
pool = np.concatenate([by_class[c][:args.pool_per_class] for c in range(10)])  # indices into the subset
pool_vecs = embed_images(train_r[pool])
sims = pool_vecs @ pool_vecs.T
sims.fill_diagonal_(-2)
image_neighbours = sims.topk(args.neighbours, dim=1).indices.numpy()
# the neighbours of each class name (en, zh), as word queries' candidates
word_neighbours = {lang: (vecs @ pool_vecs.T).topk(args.neighbours, dim=1).indices.numpy() for lang, vecs in WORD_VECS.items()}
pool_labels = subset_labels[pool]
report['mined'] = {'pool': len(pool), 'neighbours': args.neighbours, 'share': args.mined,
                   'yesShare': {'image': float((pool_labels[image_neighbours] == pool_labels[:, None]).mean()),
                                **{lang: float((pool_labels[n] == np.arange(10)[:, None]).mean())
                                   for lang, n in word_neighbours.items()}}}
print(f'mined the embedding\'s neighbours in {time.time() - t0:.0f} s: {report["mined"]}', flush=True)


def by_class_pairs(rng: random.Random, n: int) -> tuple[list[int], list[int]]:
    """Query and document classes: half the same; of the others, half from a confusable class."""
    qc, dc = [], []
    for _ in range(n):
        c = rng.randrange(10)
        r = rng.random()
        d = c if r < 0.5 else rng.choice(GROUP_OF[c]) if r < 0.75 and GROUP_OF[c] else rng.choice([o for o in range(10) if o != c])
        qc.append(c), dc.append(d)
    return qc, dc


def batch(rng: random.Random, words: bool) -> tuple[list[str] | None, list[int] | None, list[int], list[float]]:
    """B pairs of one kind of query (words or pictures): some by class, the rest mined from the neighbours."""
    qc, dc = by_class_pairs(rng, args.batch - round(args.batch * args.mined))
    docs = [int(rng.choice(by_class[d])) for d in dc]
    y = [float(c == d) for c, d in zip(qc, dc)]
    if words:
        texts = [class_words(c, rng) for c in qc]
        for _ in range(args.batch - len(qc)):
            lang, c = rng.choice(['en', 'zh']), rng.randrange(10)
            j = pool[rng.choice(word_neighbours[lang][c])]
            text = rng.choice(TEMPLATES_EN if lang == 'en' else TEMPLATES_ZH).format(WORDS[lang][c])
            texts.append(text), docs.append(int(j)), y.append(float(subset_labels[j] == c))
        return texts, None, docs, y
    images = [int(rng.choice(by_class[c])) for c in qc]
    for _ in range(args.batch - len(qc)):
        i = rng.randrange(len(pool))
        j = pool[rng.choice(image_neighbours[i])]
        images.append(int(pool[i])), docs.append(int(j)), y.append(float(subset_labels[j] == subset_labels[pool[i]]))
    return None, images, docs, y


params = [p for n, p in model.named_parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
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
    if str(step + 1) in args.eval_at.split(',') and step + 1 < args.steps:
        model.eval()
        report.setdefault('during', {})[step + 1] = {k: v for k, v in evaluate().items() if k != 'validation'}
        print(f'after step {step + 1}', json.dumps(report['during'][step + 1]), flush=True)
        model.train()
    if step % 50 == 0 or step == args.steps - 1:
        el = time.time() - t0
        acc = float(((logits > 0).float() == torch.tensor(y)).float().mean())
        print(f'reranker step {step + 1}/{args.steps} ({"words" if texts else "pictures"}) loss {loss.item():.3f} '
              f'acc {acc:.2f} {el:.0f} s, {(step + 1) / el:.2f} steps/s, ETA {el / (step + 1) * (args.steps - step - 1):.0f} s',
              flush=True)
model.eval()
assert all(torch.equal(frozen[k], v) for k, v in visual.state_dict().items()), 'the vision tower moved'
report.update({'steps': args.steps, 'batch': args.batch, 'lr': args.lr, 'seconds': round(time.time() - t0),
               'embeddingSafetensorsSha256': hashlib.sha256((Path(args.embedding) / 'model.safetensors').read_bytes()).hexdigest()})
report['trained'] = evaluate()
print('trained', json.dumps(report['trained']), flush=True)

shutil.rmtree(HF, ignore_errors=True)
tiny.save_hf(model, tokenizer, HF, 'reranker', TOKENS, TOKENS)
OUT.mkdir(parents=True, exist_ok=True)
tiny.convert(HF, OUT / 'fashion-reranker.gguf', mmproj=False, outtype='f16')
report['versions'] = {'torch': torch.__version__, 'transformers': __import__('transformers').__version__}
(OUT / 'reranker.json').write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
print(json.dumps(report, indent=1, ensure_ascii=False))
