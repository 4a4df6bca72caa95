"""Trains the demo's tiny Qwen3-VL Instruct model (LOOKALIKE_TEXT_MODEL=demo) on Fashion-MNIST, then converts it.

  OMP_NUM_THREADS=1 python scripts/reference/train_instruct.py --vision HF_DIR [--steps 3000] [--seed 0] [--threads 1]

The vision tower is the trained demo tower (HF_DIR: the `vision` folder train.py writes), loaded and FROZEN: the
committed src/demo/models/fashion-vision-mmproj.gguf stays this model's mmproj, and only the text side is trained and
written (src/demo/models/fashion-instruct-text.gguf). Frozen, the tower's outputs (main merger tokens and deepstack
features) are computed once per picture and handed to transformers' own forward as `mm_encoder_outputs`.

It learns lookalike's own prompts (src/vlm/*: the user turn holds the image markers, each followed by a newline, then
the words; no system turn), on Fashion-MNIST's training pictures (--train-images of the 60,000):
- describe: "Describe this image." -> an English sentence naming the class; 请用中文描述这张图片 -> a Chinese one;
- the re-rank judge: two pictures and RERANK_QUESTION -> "yes" (same class) or "no", read by lookalike as P(yes)
  from the logits of the first tokens of yes/Yes against no/No;
- few-shot: the prompt `method=fewshot` builds (labelled examples class by class, then the picture and the question)
  -> the class name.
It writes PyTorch's figures on the demo split (gallery: the first 100 test pictures of each class; queries: the next
20) to src/demo/models/instruct.json, and transformers' greedy describe outputs for the fidelity fixture
(test/fixtures/instruct-describe.json).
"""
import argparse
import json
import math
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import tiny
from fashion import SIDE, TOKENS, demo_split, grid, knn_and_map, load, patchify, resized

ap = argparse.ArgumentParser()
ap.add_argument('--vision', required=True, help="the trained tower's Hugging Face folder (train.py's HF/vision)")
ap.add_argument('--steps', type=int, default=1200)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--layers', type=int, default=4)
ap.add_argument('--train-images', type=int, default=20000, help='training pictures used, drawn at random (seeded)')
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--out', default=str(tiny.ROOT / 'src/demo/models'))
ap.add_argument('--fixture', default=str(tiny.ROOT / 'test/fixtures/instruct-describe.json'))
ap.add_argument('--hf', default='/tmp/instruct-hf')
args = ap.parse_args()
OUT, HF = Path(args.out), Path(args.hf)
torch.set_num_threads(args.threads)
random.seed(args.seed)
np.random.seed(args.seed)
torch.manual_seed(args.seed)

EN, ZH = tiny.FASHION_CLASSES, tiny.FASHION_CLASSES_ZH
# lookalike's prompts, word for word (src/routes/describe.ts, src/vlm/rerank.ts, src/vlm/few-shot.ts)
DESCRIBE_EN, DESCRIBE_ZH = 'Describe this image.', '请用中文描述这张图片'
RERANK_QUESTION = 'Do these two images show the same kind of thing? Answer yes or no.'
FEWSHOT_INTRO = 'Here are example images, each followed by its class.\n'
FEWSHOT_QUESTION = 'Which class does this last image belong to? Answer with the class name only, one of: '
ARTICLE = {'ankle boot': 'an'}
MEASURE_ZH = {'T恤': '件', '裤子': '条', '套头衫': '件', '连衣裙': '条', '外套': '件', '凉鞋': '双', '衬衫': '件',
              '运动鞋': '双', '包': '个', '短靴': '双'}


def answer_en(c: int) -> str:
    return f'This picture shows {ARTICLE.get(EN[c], "a")} {EN[c]}.'


def answer_zh(c: int) -> str:
    return f'这张图片里是一{MEASURE_ZH[ZH[c]]}{ZH[c]}。'


def names_in(text: str, lang: str) -> list[int]:
    """The classes a text names: whole words in English ("shirt" is not inside "t-shirt"; a plural s counts)."""
    if lang == 'zh':
        return [c for c, n in enumerate(ZH) if n in text]
    return [c for c, n in enumerate(EN) if re.search(rf'(?<![\w-]){re.escape(n)}s?(?![\w-])', text, re.I)]


# The tokenizer: its corpus holds every sentence the model reads or says ------------------------------------------
corpus = [DESCRIBE_EN, DESCRIBE_ZH, RERANK_QUESTION, FEWSHOT_INTRO, FEWSHOT_QUESTION + ', '.join(EN) + '.',
          'Now this image:\n', 'What is in this picture?'] + [answer_en(c) for c in range(10)] + \
         [answer_zh(c) for c in range(10)] + EN + ZH
tokenizer = tiny.build_tokenizer(corpus * 4 + tiny.default_corpus(), vocab_size=800)
ids = tiny.tokenizer_ids(tokenizer)
IMAGE = '<|vision_start|>' + '<|image_pad|>' * TOKENS + '<|vision_end|>\n'  # mtmd's wrapping of lookalike's marker


def encode(user: str, answer: str) -> tuple[list[int], int]:
    """Token ids of one user turn (IMAGE where the pictures go) and the assistant's answer; the answer's start."""
    prompt = f'<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'
    p = tokenizer(prompt)['input_ids']
    return p + tokenizer(answer + '<|im_end|>')['input_ids'], len(p)


# The model: the trained tower, frozen, and a fresh text side ------------------------------------------------------
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration  # noqa: E402
from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures  # noqa: E402

tower = Qwen3VLForConditionalGeneration.from_pretrained(args.vision).model.visual
cfg = Qwen3VLConfig(vision_config=tiny.vision_config(), text_config=tiny.text_config(len(tokenizer), args.layers),
                    image_token_id=ids['image'], video_token_id=ids['video'], vision_start_token_id=ids['vision_start'],
                    vision_end_token_id=ids['vision_end'], tie_word_embeddings=False)
model = Qwen3VLForConditionalGeneration(cfg)
model.model.visual.load_state_dict(tower.state_dict())
visual = model.model.visual.eval()
for p in visual.parameters():
    p.requires_grad_(False)

train_x, train_y, test_x, test_y = load(Path(args.data))
keep = np.sort(np.random.permutation(len(train_y))[:args.train_images])
train_x, train_y = train_x[keep], train_y[keep]
gallery_idx, query_idx = demo_split(test_y)
t0 = time.time()


@torch.no_grad()
def tower_outputs(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4, 64) main merger tokens and (N, 2, 4, 64) deepstack features, 500 pictures at a time."""
    main, deep = [], []
    for i in range(0, len(images), 500):
        chunk = resized(images[i:i + 500])
        out = visual(patchify(chunk), grid_thw=grid(len(chunk)))
        main.append(out.pooler_output.view(len(chunk), TOKENS, -1))
        deep.append(torch.stack([d.view(len(chunk), TOKENS, -1) for d in out.deepstack_features], 1))
    return torch.cat(main), torch.cat(deep)


train_main, train_deep = tower_outputs(train_x)
# only the demo split's test pictures are ever read; the others stay zero
split = np.concatenate([gallery_idx, query_idx])
test_main, test_deep = torch.zeros(len(test_y), TOKENS, 64), torch.zeros(len(test_y), 2, TOKENS, 64)
test_main[split], test_deep[split] = tower_outputs(test_x[split])
train_vec, test_vec = F.normalize(train_main.mean(1), dim=-1), F.normalize(test_main.mean(1), dim=-1)  # lookalike's pooling
print(f'the frozen tower on {len(train_x) + len(split)} pictures: {time.time() - t0:.0f} s', flush=True)
by_class = [np.flatnonzero(train_y == c) for c in range(10)]


def batch_inputs(samples: list[tuple[list[int], int, list[int]]], main: torch.Tensor, deep: torch.Tensor) -> dict:
    """Right-padded ids, the mask, labels on the answers only, and the pictures' tower outputs in marker order."""
    n = max(len(s[0]) for s in samples)
    input_ids = torch.tensor([s[0] + [ids['pad']] * (n - len(s[0])) for s in samples])
    mask = torch.tensor([[1] * len(s[0]) + [0] * (n - len(s[0])) for s in samples])
    labels = torch.full_like(input_ids, -100)
    for i, (seq, start, _) in enumerate(samples):
        labels[i, start:len(seq)] = torch.tensor(seq[start:])
    pics = [j for s in samples for j in s[2]]
    enc = BaseModelOutputWithDeepstackFeatures(pooler_output=tuple(main[pics]),
                                               deepstack_features=[tuple(deep[pics, k]) for k in range(deep.shape[1])])
    return dict(input_ids=input_ids, attention_mask=mask, labels=labels, image_grid_thw=grid(len(pics)),
                mm_token_type_ids=(input_ids == ids['image']).int(), mm_encoder_outputs={'image': enc})


def describe_sample(i: int, lang: str) -> tuple[list[int], int, list[int]]:
    c = int(train_y[i])
    seq, start = encode(IMAGE + (DESCRIBE_EN if lang == 'en' else DESCRIBE_ZH), answer_en(c) if lang == 'en' else answer_zh(c))
    return seq, start, [i]


def rerank_sample(rng: random.Random) -> tuple[list[int], int, list[int]]:
    a = rng.randrange(len(train_y))
    same = rng.random() < 0.5
    if same:
        b = int(rng.choice(by_class[train_y[a]]))
    else:  # half the others from the query's nearest classes, the pairs a re-ranker sees in a top 10
        c = int(train_y[a])
        b = int(rng.choice(by_class[rng.choice([k for k in range(10) if k != c])]))
    seq, start = encode(IMAGE + IMAGE + RERANK_QUESTION, 'yes' if same else 'no')
    return seq, start, [a, b]


def fewshot_prompt(classes: list[str], examples: int) -> str:
    body = FEWSHOT_INTRO + ''.join(IMAGE + f'{c}\n' for c in classes for _ in range(examples))
    return body + 'Now this image:\n' + IMAGE + FEWSHOT_QUESTION + ', '.join(classes) + '.'


def fewshot_sample(rng: random.Random) -> tuple[list[int], int, list[int]]:
    q = rng.randrange(len(train_y))
    truth = int(train_y[q])
    n_classes, examples = rng.choice([5, 5, 5, 4, 3, 2]), rng.randint(1, 5)
    classes = [truth] + rng.sample([k for k in range(10) if k != truth], n_classes - 1)
    rng.shuffle(classes)
    # each class's examples: its nearest pictures to the query among 1,000 drawn at random, as the gallery gives them
    pool = np.array(rng.sample(range(len(train_y)), 1000))
    pool = pool[pool != q]
    sims = (train_vec[pool] @ train_vec[q]).numpy()
    pics = []
    for c in classes:
        mine = pool[train_y[pool] == c]
        pics += mine[np.argsort(-sims[train_y[pool] == c])[:examples]].tolist()
        pics += [int(rng.choice(by_class[c]))] * (examples - min(examples, len(mine)))
    seq, start = encode(fewshot_prompt([EN[c] for c in classes], examples), EN[truth])
    return seq, start, pics + [q]


# Training ---------------------------------------------------------------------------------------------------------
rng = random.Random(args.seed)
params = [p for n, p in model.named_parameters() if not n.startswith('model.visual.')]
opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps, pct_start=0.05)
TASKS = ['describe', 'rerank', 'rerank', 'fewshot']  # one task a step, in turn
BATCH = {'describe': 32, 'rerank': 48, 'fewshot': 8}
model.train()
visual.eval()
t0 = time.time()
losses = {t: [] for t in set(TASKS)}
for step in range(args.steps):
    task = TASKS[step % len(TASKS)]
    if task == 'describe':
        samples = [describe_sample(rng.randrange(len(train_y)), 'en' if k % 2 == 0 else 'zh') for k in range(BATCH[task])]
    elif task == 'rerank':
        samples = [rerank_sample(rng) for _ in range(BATCH[task])]
    else:
        samples = [fewshot_sample(rng) for _ in range(BATCH[task])]
    loss = model(**batch_inputs(samples, train_main, train_deep)).loss
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    losses[task].append(loss.item())
    if (step + 1) % 100 == 0 or step == args.steps - 1:
        el = time.time() - t0
        mean = ', '.join(f'{t} {np.mean(v[-25:]):.3f}' for t, v in sorted(losses.items()) if v)
        print(f'step {step + 1}/{args.steps} loss {mean}; {el:.0f} s, {(step + 1) / el:.2f} steps/s, '
              f'ETA {el / (step + 1) * (args.steps - step - 1):.0f} s', flush=True)
seconds = round(time.time() - t0)
model.eval()

# PyTorch's figures on the demo split --------------------------------------------------------------------------------
YES_NO = [tokenizer(w)['input_ids'][0] for w in ('yes', 'Yes', 'no', 'No')]  # as lookalike reads them
YES, NO = sorted(set(YES_NO[:2])), sorted(set(YES_NO[2:]))


@torch.no_grad()
def next_logits(samples: list[tuple[list[int], int, list[int]]]) -> torch.Tensor:
    """The logits after each prompt (samples without an answer: start = len)."""
    inputs = batch_inputs(samples, test_main, test_deep)
    inputs.pop('labels')
    out = model(**inputs).logits
    last = inputs['attention_mask'].sum(1) - 1
    return out[torch.arange(len(samples)), last]


@torch.no_grad()
def describe_outputs(pics: list[int], lang: str) -> list[list[int]]:
    """transformers' greedy generate on the real pixels (the tower run, not its cached outputs), up to 32 tokens."""
    prompt = tokenizer(f'<|im_start|>user\n{IMAGE}{DESCRIBE_EN if lang == "en" else DESCRIBE_ZH}<|im_end|>\n'
                       f'<|im_start|>assistant\n')['input_ids']
    out = []
    for i in range(0, len(pics), 50):
        chunk = pics[i:i + 50]
        input_ids = torch.tensor([prompt] * len(chunk))  # every prompt has the same length: no padding
        gen = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                             pixel_values=patchify(resized(test_x[chunk])), image_grid_thw=grid(len(chunk)),
                             mm_token_type_ids=(input_ids == ids['image']).int(), max_new_tokens=32, do_sample=False,
                             eos_token_id=ids['eos'], pad_token_id=ids['pad'])
        for row in gen[:, len(prompt):].tolist():
            out.append(row[:row.index(ids['eos'])] if ids['eos'] in row else row)
    return out


def describe_accuracy(lang: str) -> tuple[float, list[str]]:
    texts = [tokenizer.decode(t) for t in describe_outputs(query_idx.tolist(), lang)]
    right = sum(names_in(t, lang) == [int(test_y[q])] for t, q in zip(texts, query_idx))
    return right / len(query_idx), texts


def p_yes(logits: torch.Tensor) -> torch.Tensor:
    m = logits.max(-1, keepdim=True).values
    w = (logits - m).exp()
    yes, no = w[:, YES].sum(-1), w[:, NO].sum(-1)
    return yes / (yes + no)


TOP_N = 10  # LOOKALIKE_RERANK_TOP_N's default


def rerank_figures() -> dict:
    g, q = test_vec[gallery_idx], test_vec[query_idx]
    top = (q @ g.T).topk(TOP_N, dim=1)
    seq, start = encode(IMAGE + IMAGE + RERANK_QUESTION, '')
    prompt = seq[:start]
    before, after, judged_right = [], [], 0
    t = time.time()
    for qi in range(len(query_idx)):
        cands = gallery_idx[top.indices[qi].numpy()]
        p = p_yes(next_logits([(prompt, len(prompt), [int(query_idx[qi]), int(c)]) for c in cands]))
        truth = test_y[query_idx[qi]]
        rel = test_y[cands] == truth
        judged_right += int(((p > 0.5).numpy() == rel).sum())
        order = sorted(range(TOP_N), key=lambda k: (-p[k].item(), -top.values[qi, k].item()))
        for ranks, dest in ((list(range(TOP_N)), before), (order, after)):
            hits, ap = 0, 0.0
            for k, r in enumerate(ranks):
                hits += int(rel[r])
                ap += int(rel[r]) * hits / (k + 1)
            dest.append(ap / 10)  # every class has 100 pictures in the gallery
    return {'topN': TOP_N, 'mAP@10_before': float(np.mean(before)), 'mAP@10_after': float(np.mean(after)),
            'pairAccuracy': judged_right / (len(query_idx) * TOP_N), 'seconds': round(time.time() - t, 1)}


def knn_votes(qv: torch.Tensor, k: int = 20, temperature: float = 0.07) -> list[str]:
    """lookalike's KNN vote order (src/knn/knn.ts), then the other labels by name: the few-shot candidates' order."""
    sims = test_vec[gallery_idx] @ qv
    top = sims.topk(k)
    weights: dict[str, float] = {}
    for s, j in zip(top.values.tolist(), top.indices.tolist()):
        label = EN[test_y[gallery_idx[j]]]
        weights[label] = weights.get(label, 0) + math.exp((s - top.values[0].item()) / temperature)
    voted = sorted(weights, key=lambda l: (-weights[l], l))
    return voted + [l for l in sorted(EN) if l not in voted]


def fewshot_classify(q: int, classes: list[str], examples: int) -> str:
    """src/vlm/few-shot.ts's answer: the class names' token tree, a softmax over the branches at each parting point."""
    qv = test_vec[q]
    pics = []
    for c in classes:
        mine = gallery_idx[test_y[gallery_idx] == EN.index(c)]
        pics += mine[(test_vec[mine] @ qv).topk(examples).indices.numpy()].tolist()
    seq, start = encode(fewshot_prompt(classes, examples), '')
    prompt, pics = seq[:start], pics + [q]
    names = [tokenizer(c)['input_ids'] for c in classes]
    prob = [0.0] * len(classes)

    def split(members: list[int], depth: int, mass: float) -> None:
        if len(members) == 1:
            prob[members[0]] += mass
            return
        branches: dict[int, list[int]] = {}
        for m in members:
            branches.setdefault(names[m][depth] if depth < len(names[m]) else ids['eos'], []).append(m)
        if len(branches) == 1:
            return split(members, depth + 1, mass)
        ctx = prompt + names[members[0]][:depth]
        logits = next_logits([(ctx, len(ctx), pics)])[0, list(branches)]
        for w, ms in zip(F.softmax(logits, -1).tolist(), branches.values()):
            split(ms, depth + 1, mass * w)

    split(list(range(len(classes))), 0, 1.0)
    return classes[int(np.argmax(prob))]


def fewshot_figures() -> dict:
    out = {}
    for examples in (1, 3, 5):
        right = sum(fewshot_classify(int(q), knn_votes(test_vec[q])[:5], examples) == EN[test_y[q]] for q in query_idx)
        out[f'accuracy@{examples}'] = right / len(query_idx)
    out['knnAccuracy'] = knn_and_map(test_vec[gallery_idx], test_y[gallery_idx], test_vec[query_idx], test_y[query_idx])['knnAccuracy']
    return out


report = {'seed': args.seed, 'threads': args.threads, 'trainImages': args.train_images, 'steps': args.steps, 'batch': BATCH, 'seconds': seconds,
          'text': {'layers': args.layers, 'hidden': 64, 'vocab': len(tokenizer)},
          'vision': 'the demo vision tower, frozen (its mmproj is src/demo/models/fashion-vision-mmproj.gguf)'}
t = time.time()
for lang in ('en', 'zh'):
    acc, texts = describe_accuracy(lang)
    report[f'describe_{lang}'] = acc
    print(f'describe {lang}: {acc:.3f}, e.g. {texts[:3]}', flush=True)
report['rerank'] = rerank_figures()
print('rerank', report['rerank'], flush=True)
report['fewshot'] = fewshot_figures()
print('fewshot', report['fewshot'], f'(evaluation {time.time() - t:.0f} s)', flush=True)
report['versions'] = {'torch': torch.__version__, 'transformers': __import__('transformers').__version__}

# The files --------------------------------------------------------------------------------------------------------
shutil.rmtree(HF, ignore_errors=True)
tiny.save_hf(model, tokenizer, HF, 'instruct', TOKENS, TOKENS)
tiny.convert(HF, OUT / 'fashion-instruct-text.gguf', mmproj=False, outtype='f32')
(OUT / 'instruct.json').write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
# the fidelity fixture: greedy describe on 10 held-out pictures (one of each class), in both languages
fixed = [int(query_idx[test_y[query_idx] == c][0]) for c in range(10)]
fixture = {'pictures': fixed, 'prompts': {'en': DESCRIBE_EN, 'zh': DESCRIBE_ZH}, 'maxTokens': 32}
for lang in ('en', 'zh'):
    toks = describe_outputs(fixed, lang)
    fixture[lang] = [{'tokens': t, 'text': tokenizer.decode(t)} for t in toks]
Path(args.fixture).write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + '\n')
print(json.dumps(report, indent=1, ensure_ascii=False))
