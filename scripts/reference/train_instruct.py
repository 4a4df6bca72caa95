"""Trains the demo's tiny Qwen3-VL Instruct model (LOOKALIKE_TEXT_MODEL=demo) on Fashion-MNIST, then converts it.

  OMP_NUM_THREADS=1 python scripts/reference/train_instruct.py --vision HF_DIR [--steps 2400] [--seed 0] [--threads 1]

The model has a vision tower of its own (src/engine/demo/models/fashion-instruct-mmproj.gguf): it starts as the trained demo
tower (HF_DIR: the `vision` folder train.py writes) and is fine-tuned with the text side, so that it learns to read
words on pictures. Search still runs on the vision demo's tower (fashion-vision-mmproj.gguf, unchanged): its vectors
order the gallery, pick few-shot examples and mine the judge's pairs, as lookalike's do.

It learns lookalike's own prompts (src/engine/vlm/*: the user turn holds the image markers, each followed by a newline, then
the words; no system turn), on Fashion-MNIST's training pictures (--train-images of the 60,000):
- describe: "Describe this image." -> an English sentence naming the class; 请用中文描述这张图片 -> a Chinese one;
- the re-rank judge: two pictures and RERANK_QUESTION -> "yes" (same class) or "no", read by lookalike as P(yes)
  from the logits of the first tokens of yes/Yes against no/No. Its pairs are those a search's top N holds: each
  picture's nearest neighbours by the search tower (near misses of another class are the negatives), and far members
  of its own class as positives too;
- few-shot: the prompt `method=fewshot` builds (labelled examples class by class, then the picture and the question)
  -> the class name;
- reading: READ_PROMPT on a picture with one or two words of VOCABULARY on a price tag in a corner -> the words in
  order, one space apart; on a picture without words -> "none".
It writes PyTorch's figures on the demo split (gallery: the first 100 test pictures of each class; queries: the next
20; reading: each query with a tag, seeded, and each plain query) to src/engine/demo/models/instruct.json, and transformers'
greedy outputs for the fidelity fixtures (test/fixtures/instruct-describe.json, instruct-read.json).
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
from PIL import Image

from fashion import SIDE, TOKENS, demo_split, knn_and_map, load, resized

ap = argparse.ArgumentParser()
ap.add_argument('--vision', required=True, help="the trained tower's Hugging Face folder (train.py's HF/vision)")
ap.add_argument('--steps', type=int, default=2400)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--layers', type=int, default=4)
ap.add_argument('--lr', type=float, default=3e-3, help="the text side's peak learning rate")
ap.add_argument('--tower-lr', type=float, default=1e-3, help="the tower's peak learning rate (it starts trained)")
ap.add_argument('--warmup-steps', type=int, default=300, help='the tower alone learns to see words first')
ap.add_argument('--tasks', default='describe,rerank,read,fewshot,rerank,read', help='one task a step, in turn')
ap.add_argument('--train-images', type=int, default=20000, help='training pictures used, drawn at random (seeded)')
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--out', default=str(tiny.ROOT / 'src/engine/demo/models'))
ap.add_argument('--fixtures', default=str(tiny.ROOT / 'test/fixtures'))
ap.add_argument('--hf', default='/tmp/instruct-hf')
args = ap.parse_args()
OUT, HF, FIXTURES = Path(args.out), Path(args.hf), Path(args.fixtures)
torch.set_num_threads(args.threads)
random.seed(args.seed)
np.random.seed(args.seed)
torch.manual_seed(args.seed)

EN, ZH = tiny.FASHION_CLASSES, tiny.FASHION_CLASSES_ZH
# lookalike's prompts, word for word (src/web/routes/describe.ts, src/engine/vlm/rerank.ts, src/engine/vlm/few-shot.ts, src/engine/vlm/caption.ts)
DESCRIBE_EN, DESCRIBE_ZH = 'Describe this image.', '请用中文描述这张图片'
RERANK_QUESTION = 'Do these two images show the same kind of thing? Answer yes or no.'
FEWSHOT_INTRO = 'Here are example images, each followed by its class.\n'
FEWSHOT_QUESTION = 'Which class does this last image belong to? Answer with the class name only, one of: '
READ_PROMPT = 'Read the words written in this image. Answer with the words only, or "none".'
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


# Words on pictures: a white price tag in a corner, one word a line, in a 5x7 pixel font with each font pixel drawn as
# 2x2, on the picture enlarged to 128x128 (16 tokens: this model's mmproj takes 4 to 16, so a plain 28x28 picture is
# still read at 64x64, 4 tokens, while a render keeps its 128x128). Written into instruct.json (`reading`), so that
# lookalike's tests draw the same tags pixel for pixel.
VOCABULARY = ['SALE', 'NEW', 'ZARA', 'NIKE', 'GAP', 'HOT', 'BUY', 'GIFT', 'VANS', 'PUMA', 'LEVI', 'ECO', 'FREE', 'TOP',
              'BEST', 'COOL', 'MAX', '20%', '30%', '50%', '70%', '$9', '$19', '$49']
FONT = {  # 7 rows of 5 pixels, '#' ink
    'A': '.###. #...# #...# ##### #...# #...# #...#', 'B': '####. #...# #...# ####. #...# #...# ####.',
    'C': '.###. #...# #.... #.... #.... #...# .###.', 'E': '##### #.... #.... ####. #.... #.... #####',
    'F': '##### #.... #.... ####. #.... #.... #....', 'G': '.###. #...# #.... #.### #...# #...# .####',
    'H': '#...# #...# #...# ##### #...# #...# #...#', 'I': '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
    'K': '#...# #..#. #.#.. ##... #.#.. #..#. #...#', 'L': '#.... #.... #.... #.... #.... #.... #####',
    'M': '#...# ##.## #.#.# #.#.# #...# #...# #...#', 'N': '#...# #...# ##..# #.#.# #..## #...# #...#',
    'O': '.###. #...# #...# #...# #...# #...# .###.', 'P': '####. #...# #...# ####. #.... #.... #....',
    'R': '####. #...# #...# ####. #.#.. #..#. #...#', 'S': '.#### #.... #.... .###. ....# ....# ####.',
    'T': '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..', 'U': '#...# #...# #...# #...# #...# #...# .###.',
    'V': '#...# #...# #...# #...# #...# .#.#. ..#..', 'W': '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
    'X': '#...# #...# .#.#. ..#.. .#.#. #...# #...#', 'Y': '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
    'Z': '##### ....# ...#. ..#.. .#... #.... #####', '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
    '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.', '2': '.###. #...# ....# ...#. ..#.. .#... #####',
    '3': '##### ...#. ..#.. ...#. ....# #...# .###.', '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
    '5': '##### #.... ####. ....# ....# #...# .###.', '7': '##### ....# ...#. ..#.. .#... .#... .#...',
    '9': '.###. #...# #...# .#### ....# ...#. .##..', '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
    '$': '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
}
# in font pixels, each `scale` x `scale` pixels of the `side` x `side` render; corners 0-3: top left, top right,
# bottom left, bottom right
TAG = {'side': 128, 'scale': 2, 'margin': 2, 'padding': 2, 'advance': 6, 'lineHeight': 8}
READ_SIDE, READ_TOKENS = TAG['side'], (TAG['side'] // 32) ** 2


def draw_tag(picture: np.ndarray, words: list[str], corner: int) -> np.ndarray:
    """A copy of a READ_SIDE x READ_SIDE grey picture with `words` on a white tag (black ink) in `corner`."""
    out = picture.copy()
    s, pad, adv, lh = TAG['scale'], TAG['padding'], TAG['advance'], TAG['lineHeight']
    w = (2 * pad + max(len(word) for word in words) * adv - 1) * s
    h = (2 * pad + len(words) * lh - 1) * s
    x0 = TAG['margin'] * s if corner % 2 == 0 else READ_SIDE - TAG['margin'] * s - w
    y0 = TAG['margin'] * s if corner < 2 else READ_SIDE - TAG['margin'] * s - h
    out[y0:y0 + h, x0:x0 + w] = 255
    for line, word in enumerate(words):
        for k, ch in enumerate(word):
            for r, row in enumerate(FONT[ch].split()):
                for c, px in enumerate(row):
                    if px == '#':
                        y, x = y0 + (pad + line * lh + r) * s, x0 + (pad + k * adv + c) * s
                        out[y:y + s, x:x + s] = 0
    return out


def enlarged(images: np.ndarray) -> np.ndarray:
    """28x28 grey to READ_SIDE x READ_SIDE with Pillow's bicubic, as a render's picture."""
    return np.stack([np.asarray(Image.fromarray(im).resize((READ_SIDE, READ_SIDE), Image.BICUBIC)) for im in images])


def patchify(images: np.ndarray) -> torch.Tensor:
    """Qwen2-VL's processor layout for B grey SxS images: (B*(S/16)^2, 3*2*16*16), merge blocks in raster order."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div(255).sub(0.5).div(0.5)  # mean and std 0.5
    b, side = x.shape[0], x.shape[-1]
    x = x[:, None].expand(b, 3, side, side)  # grey as RGB
    g = side // 16
    x = x.reshape(b, 3, g // 2, 2, 16, g // 2, 2, 16).permute(0, 2, 5, 3, 6, 1, 4, 7)
    x = x.unsqueeze(6).expand(-1, -1, -1, -1, -1, -1, 2, -1, -1)  # the temporal patch: the frame twice
    return x.reshape(b * g * g, 3 * 2 * 16 * 16)


def grid(pictures: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    return torch.tensor([[1, p.shape[-1] // 16, p.shape[-1] // 16] for p in pictures])


def draw_words(rng: random.Random) -> tuple[list[str], int]:
    """One or two distinct words of VOCABULARY and a corner."""
    return rng.sample(VOCABULARY, rng.choice([1, 2])), rng.randrange(4)


# The tokenizer: its corpus holds every sentence the model reads or says ------------------------------------------
corpus = [DESCRIBE_EN, DESCRIBE_ZH, RERANK_QUESTION, FEWSHOT_INTRO, FEWSHOT_QUESTION + ', '.join(EN) + '.',
          'Now this image:\n', 'What is in this picture?', READ_PROMPT, 'none'] + [answer_en(c) for c in range(10)] + \
         [answer_zh(c) for c in range(10)] + EN + ZH + VOCABULARY + [' '.join(VOCABULARY)]
tokenizer = tiny.build_tokenizer(corpus * 4 + tiny.default_corpus(), vocab_size=800)
ids = tiny.tokenizer_ids(tokenizer)
IMAGE = '<|vision_start|>' + '<|image_pad|>' * TOKENS + '<|vision_end|>\n'  # mtmd's wrapping of lookalike's marker
RENDER = IMAGE.replace('<|image_pad|>' * TOKENS, '<|image_pad|>' * READ_TOKENS)  # a 128x128 picture's


def encode(user: str, answer: str) -> tuple[list[int], int]:
    """Token ids of one user turn (IMAGE where the pictures go) and the assistant's answer; the answer's start."""
    prompt = f'<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'
    p = tokenizer(prompt)['input_ids']
    return p + tokenizer(answer + '<|im_end|>')['input_ids'], len(p)


# The model: the trained tower (fine-tuned here, a copy of it kept frozen for search) and a fresh text side ----------
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration  # noqa: E402
from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures  # noqa: E402

search_tower = Qwen3VLForConditionalGeneration.from_pretrained(args.vision).model.visual.eval()
cfg = Qwen3VLConfig(vision_config=tiny.vision_config(), text_config=tiny.text_config(len(tokenizer), args.layers),
                    image_token_id=ids['image'], video_token_id=ids['video'], vision_start_token_id=ids['vision_start'],
                    vision_end_token_id=ids['vision_end'], tie_word_embeddings=False)
model = Qwen3VLForConditionalGeneration(cfg)
model.model.visual.load_state_dict(search_tower.state_dict())
visual = model.model.visual

train_x, train_y, test_x, test_y = load(Path(args.data))
keep = np.sort(np.random.permutation(len(train_y))[:args.train_images])
train_x, train_y = train_x[keep], train_y[keep]
gallery_idx, query_idx = demo_split(test_y)
t0 = time.time()
train_px, test_px = resized(train_x), resized(test_x)  # 64x64, as lookalike resizes them


def tower_outputs(tower, pixels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T, 64) main merger tokens and (N, 2, T, 64) deepstack features of N grey pictures of one size."""
    out = tower(patchify(pixels), grid_thw=grid(pixels))
    t = (pixels.shape[-1] // 32) ** 2
    return (out.pooler_output.view(len(pixels), t, -1),
            torch.stack([d.view(len(pixels), t, -1) for d in out.deepstack_features], 1))


@torch.no_grad()
def search_vectors(pixels: np.ndarray) -> torch.Tensor:
    """The vision demo's vectors (lookalike's `mean` pooling), 500 pictures at a time."""
    return torch.cat([F.normalize(tower_outputs(search_tower, pixels[i:i + 500])[0].mean(1), dim=-1)
                      for i in range(0, len(pixels), 500)])


train_vec = search_vectors(train_px)
test_vec = torch.zeros(len(test_y), 64)
split = np.concatenate([gallery_idx, query_idx])  # only the demo split's test pictures are ever searched
test_vec[split] = search_vectors(test_px[split])
by_class = [np.flatnonzero(train_y == c) for c in range(10)]

# The judge's pairs: each training picture's nearest neighbours by the search tower. The training set is 20 times
# denser than the demo gallery, so its nearest 400 are about the gallery's nearest 20 (the top N a judge re-ranks).
NEIGHBOURS = 400
neighbours = torch.empty(len(train_y), NEIGHBOURS, dtype=torch.long)
for i in range(0, len(train_y), 1000):
    sims = train_vec[i:i + 1000] @ train_vec.T
    sims[torch.arange(len(sims)), torch.arange(i, i + len(sims))] = -2  # not itself
    neighbours[i:i + 1000] = sims.topk(NEIGHBOURS, dim=1).indices
neighbours = neighbours.numpy()
same = train_y[neighbours] == train_y[:, None]
near_same = [np.flatnonzero(r) for r in same]
near_other = [np.flatnonzero(~r) for r in same]
mined = {'neighbours': NEIGHBOURS, 'sameClassShare': float(same.mean()),
         'sameClassShareTop20': float(same[:, :20].mean())}
print(f'search vectors and neighbours of {len(train_y)} pictures: {time.time() - t0:.0f} s; {mined}', flush=True)


def batch_inputs(samples: list[tuple[list[int], int, list[np.ndarray]]], tower=None) -> dict:
    """Right-padded ids, the mask, labels on the answers only, and the pictures' tower outputs in marker order."""
    n = max(len(s[0]) for s in samples)
    input_ids = torch.tensor([s[0] + [ids['pad']] * (n - len(s[0])) for s in samples])
    mask = torch.tensor([[1] * len(s[0]) + [0] * (n - len(s[0])) for s in samples])
    labels = torch.full_like(input_ids, -100)
    for i, (seq, start, _) in enumerate(samples):
        labels[i, start:len(seq)] = torch.tensor(seq[start:])
    pics = [p for s in samples for p in s[2]]
    main, deep = [None] * len(pics), [None] * len(pics)
    for side in {p.shape[-1] for p in pics}:  # the tower runs on the pictures of each size together
        at = [i for i, p in enumerate(pics) if p.shape[-1] == side]
        m, d = tower_outputs(tower or visual, np.stack([pics[i] for i in at]))
        for k, i in enumerate(at):
            main[i], deep[i] = m[k], d[k]
    enc = BaseModelOutputWithDeepstackFeatures(pooler_output=tuple(main),
                                               deepstack_features=[tuple(d[k] for d in deep) for k in range(2)])
    return dict(input_ids=input_ids, attention_mask=mask, labels=labels, image_grid_thw=grid(pics),
                mm_token_type_ids=(input_ids == ids['image']).int(), mm_encoder_outputs={'image': enc})


def describe_sample(i: int, lang: str) -> tuple[list[int], int, list[np.ndarray]]:
    c = int(train_y[i])
    seq, start = encode(IMAGE + (DESCRIBE_EN if lang == 'en' else DESCRIBE_ZH), answer_en(c) if lang == 'en' else answer_zh(c))
    return seq, start, [train_px[i]]


def rerank_sample(rng: random.Random) -> tuple[list[int], int, list[np.ndarray]]:
    """Half yes, half no: near misses of another class, near and far members of the picture's own class."""
    a = rng.randrange(len(train_y))
    kind = rng.random()
    if kind < 0.4 and len(near_other[a]):
        b, same_class = int(neighbours[a, rng.choice(near_other[a])]), False
    elif kind < 0.75 and len(near_same[a]):
        b, same_class = int(neighbours[a, rng.choice(near_same[a])]), True
    elif kind < 0.9:
        b, same_class = int(rng.choice(by_class[train_y[a]])), True
    else:
        b, same_class = int(rng.choice(by_class[rng.choice([k for k in range(10) if k != train_y[a]])])), False
    seq, start = encode(IMAGE + IMAGE + RERANK_QUESTION, 'yes' if same_class else 'no')
    return seq, start, [train_px[a], train_px[b]]


def fewshot_prompt(classes: list[str], examples: int) -> str:
    body = FEWSHOT_INTRO + ''.join(IMAGE + f'{c}\n' for c in classes for _ in range(examples))
    return body + 'Now this image:\n' + IMAGE + FEWSHOT_QUESTION + ', '.join(classes) + '.'


def fewshot_sample(rng: random.Random) -> tuple[list[int], int, list[np.ndarray]]:
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
    return seq, start, [train_px[p] for p in pics + [q]]


def read_sample(rng: random.Random) -> tuple[list[int], int, list[np.ndarray]]:
    """Seven in ten a render with a tag; the others without words, as a render or as a plain picture (64x64)."""
    i, kind = rng.randrange(len(train_y)), rng.random()
    if kind < 0.15:
        seq, start = encode(IMAGE + READ_PROMPT, 'none')
        return seq, start, [train_px[i]]
    big = enlarged(train_x[i:i + 1])[0]
    words, corner = draw_words(rng)
    pic, answer = (big, 'none') if kind < 0.3 else (draw_tag(big, words, corner), ' '.join(words))
    seq, start = encode(RENDER + READ_PROMPT, answer)
    return seq, start, [pic]


# Warm-up: the tower alone learns to tell the words on a tag apart (a linear head on its 16 tokens and deepstack
# features names the word of each line, or none), and keeps telling the classes apart (a linear head on its mean
# token). Through the text model alone it learned to read hardly at all in 300 steps; with this, in a few hundred.
rng = random.Random(args.seed)
NONE = len(VOCABULARY)
read_head, class_head = torch.nn.Linear(READ_TOKENS * 64 * 3, 2 * (NONE + 1)), torch.nn.Linear(64, 10)
warm_params = list(visual.parameters()) + list(read_head.parameters()) + list(class_head.parameters())
opt = torch.optim.AdamW(warm_params, lr=args.tower_lr, weight_decay=0.01)
t0 = time.time()
for step in range(args.warmup_steps):
    pics, lines, classes = [], [], []
    for _ in range(64):
        i = rng.randrange(len(train_y))
        words, corner = draw_words(rng) if rng.random() < 0.85 else ([], 0)
        big = enlarged(train_x[i:i + 1])[0]
        pics.append(draw_tag(big, words, corner) if words else big)
        lines.append([VOCABULARY.index(w) for w in words] + [NONE] * (2 - len(words)))
        classes.append(int(train_y[i]))
    main, deep = tower_outputs(visual, np.stack(pics))
    read_logits = read_head(torch.cat([main.flatten(1), deep.flatten(1)], 1)).view(64 * 2, NONE + 1)
    loss = F.cross_entropy(read_logits, torch.tensor(lines).flatten()) + \
        F.cross_entropy(class_head(main.mean(1)), torch.tensor(classes))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if (step + 1) % 50 == 0 or step == args.warmup_steps - 1:
        el = time.time() - t0
        right = (read_logits.view(64, 2, -1).argmax(-1) == torch.tensor(lines)).all(1).float().mean().item()
        print(f'warm-up {step + 1}/{args.warmup_steps}: loss {loss.item():.3f}, both lines right {right:.2f}; {el:.0f} s, '
              f'ETA {el / (step + 1) * (args.warmup_steps - step - 1):.0f} s', flush=True)
warmup_seconds = round(time.time() - t0)

# Training ---------------------------------------------------------------------------------------------------------
tower_params = list(visual.parameters())
text_params = [p for n, p in model.named_parameters() if not n.startswith('model.visual.')]
opt = torch.optim.AdamW([{'params': text_params, 'lr': args.lr}, {'params': tower_params, 'lr': args.tower_lr}],
                        weight_decay=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[args.lr, args.tower_lr], total_steps=args.steps, pct_start=0.05)
TASKS = args.tasks.split(',')
BATCH = {'describe': 32, 'rerank': 48, 'fewshot': 8, 'read': 48}
model.train()
t0 = time.time()
losses = {t: [] for t in set(TASKS)}
for step in range(args.steps):
    task = TASKS[step % len(TASKS)]
    if task == 'describe':
        samples = [describe_sample(rng.randrange(len(train_y)), 'en' if k % 2 == 0 else 'zh') for k in range(BATCH[task])]
    elif task == 'rerank':
        samples = [rerank_sample(rng) for _ in range(BATCH[task])]
    elif task == 'read':
        samples = [read_sample(rng) for _ in range(BATCH[task])]
    else:
        samples = [fewshot_sample(rng) for _ in range(BATCH[task])]
    loss = model(**batch_inputs(samples)).loss
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(text_params + tower_params, 1.0)
    opt.step()
    sched.step()
    losses[task].append(loss.item())
    if (step + 1) % 50 == 0 or step == args.steps - 1:
        el = time.time() - t0
        mean = ', '.join(f'{t} {np.mean(v[-10:]):.3f}' for t, v in sorted(losses.items()) if v)
        print(f'step {step + 1}/{args.steps} loss {mean}; {el:.0f} s, {(step + 1) / el:.2f} steps/s, '
              f'ETA {el / (step + 1) * (args.steps - step - 1):.0f} s', flush=True)
seconds = round(time.time() - t0)
model.eval()

# PyTorch's figures on the demo split --------------------------------------------------------------------------------
YES_NO = [tokenizer(w)['input_ids'][0] for w in ('yes', 'Yes', 'no', 'No')]  # as lookalike reads them
YES, NO = sorted(set(YES_NO[:2])), sorted(set(YES_NO[2:]))


@torch.no_grad()
def next_logits(samples: list[tuple[list[int], int, list[np.ndarray]]]) -> torch.Tensor:
    """The logits after each prompt (samples without an answer: start = len)."""
    inputs = batch_inputs(samples)
    inputs.pop('labels')
    out = model(**inputs).logits
    last = inputs['attention_mask'].sum(1) - 1
    return out[torch.arange(len(samples)), last]


@torch.no_grad()
def greedy(pictures: np.ndarray, user: str, max_tokens: int = 32) -> list[list[int]]:
    """transformers' greedy generate on the pixels (its own forward, the tower run inside), up to max_tokens."""
    image = IMAGE if pictures.shape[-1] == SIDE else RENDER
    prompt = tokenizer(f'<|im_start|>user\n{image}{user}<|im_end|>\n<|im_start|>assistant\n')['input_ids']
    out = []
    for i in range(0, len(pictures), 50):
        chunk = pictures[i:i + 50]
        input_ids = torch.tensor([prompt] * len(chunk))  # every prompt has the same length: no padding
        gen = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                             pixel_values=patchify(chunk), image_grid_thw=grid(chunk),
                             mm_token_type_ids=(input_ids == ids['image']).int(), max_new_tokens=max_tokens,
                             do_sample=False, eos_token_id=ids['eos'], pad_token_id=ids['pad'])
        for row in gen[:, len(prompt):].tolist():
            out.append(row[:row.index(ids['eos'])] if ids['eos'] in row else row)
    return out


def describe_accuracy(lang: str) -> tuple[float, list[str]]:
    texts = [tokenizer.decode(t) for t in greedy(test_px[query_idx], DESCRIBE_EN if lang == 'en' else DESCRIBE_ZH)]
    right = sum(names_in(t, lang) == [int(test_y[q])] for t, q in zip(texts, query_idx))
    return right / len(query_idx), texts


def p_yes(logits: torch.Tensor) -> torch.Tensor:
    m = logits.max(-1, keepdim=True).values
    w = (logits - m).exp()
    yes, no = w[:, YES].sum(-1), w[:, NO].sum(-1)
    return yes / (yes + no)


def average_precision(rel: np.ndarray) -> float:
    hits, ap = 0, 0.0
    for k, r in enumerate(rel[:10]):
        hits += int(r)
        ap += int(r) * hits / (k + 1)
    return ap / 10  # every class has 100 pictures in the gallery


def rerank_figures(top_n: int) -> dict:
    """mAP@10 of the search's order and of the judge's (P(yes), ties by similarity) on its top N; how the judge errs."""
    g, q = test_vec[gallery_idx], test_vec[query_idx]
    top = (q @ g.T).topk(top_n, dim=1)
    seq, start = encode(IMAGE + IMAGE + RERANK_QUESTION, '')
    prompt = seq[:start]
    before, after, oracle, p_same, p_other, auc_judge, auc_search = [], [], [], [], [], [], []
    t = time.time()
    for qi in range(len(query_idx)):
        cands = gallery_idx[top.indices[qi].numpy()]
        p = p_yes(next_logits([(prompt, len(prompt), [test_px[query_idx[qi]], test_px[c]]) for c in cands]))
        rel = test_y[cands] == test_y[query_idx[qi]]
        p_same += p[torch.from_numpy(rel)].tolist()
        p_other += p[torch.from_numpy(~rel)].tolist()
        order = sorted(range(top_n), key=lambda k: (-p[k].item(), -top.values[qi, k].item()))
        before.append(average_precision(rel))
        after.append(average_precision(rel[order]))
        oracle.append(average_precision(np.sort(rel)[::-1]))  # a perfect judge on the same top N
        if 0 < rel.sum() < top_n:  # how often a candidate of the query's class is put above one of another class
            auc_judge.append(pair_order(p.numpy(), rel))
            auc_search.append(pair_order(top.values[qi].numpy(), rel))
    p_same, p_other = np.array(p_same), np.array(p_other)
    return {'topN': top_n, 'mAP@10_before': float(np.mean(before)), 'mAP@10_after': float(np.mean(after)),
            'mAP@10_perfectJudge': float(np.mean(oracle)), 'sameClassShare': len(p_same) / (len(p_same) + len(p_other)),
            'pairAccuracy': float(((p_same > 0.5).sum() + (p_other <= 0.5).sum()) / (len(p_same) + len(p_other))),
            'yesRateSameClass': float((p_same > 0.5).mean()), 'yesRateOtherClass': float((p_other > 0.5).mean()),
            'orderedPairs': {'judge': float(np.mean(auc_judge)), 'search': float(np.mean(auc_search)),
                             'queries': len(auc_judge)},
            'seconds': round(time.time() - t, 1)}


def pair_order(score: np.ndarray, rel: np.ndarray) -> float:
    """The share of (same class, other class) candidate pairs that `score` puts in the right order (ties half)."""
    a, b = score[rel][:, None], score[~rel][None, :]
    return float((a > b).mean() + 0.5 * (a == b).mean())


def knn_votes(qv: torch.Tensor, k: int = 20, temperature: float = 0.07) -> list[str]:
    """lookalike's KNN vote order (src/engine/knn/knn.ts), then the other labels by name: the few-shot candidates' order."""
    sims = test_vec[gallery_idx] @ qv
    top = sims.topk(k)
    weights: dict[str, float] = {}
    for s, j in zip(top.values.tolist(), top.indices.tolist()):
        label = EN[test_y[gallery_idx[j]]]
        weights[label] = weights.get(label, 0) + math.exp((s - top.values[0].item()) / temperature)
    voted = sorted(weights, key=lambda l: (-weights[l], l))
    return voted + [l for l in sorted(EN) if l not in voted]


def fewshot_classify(q: int, classes: list[str], examples: int) -> str:
    """src/engine/vlm/few-shot.ts's answer: the class names' token tree, a softmax over the branches at each parting point."""
    qv = test_vec[q]
    pics = []
    for c in classes:
        mine = gallery_idx[test_y[gallery_idx] == EN.index(c)]
        pics += mine[(test_vec[mine] @ qv).topk(examples).indices.numpy()].tolist()
    seq, start = encode(fewshot_prompt(classes, examples), '')
    prompt, pics = seq[:start], [test_px[p] for p in pics + [q]]
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


# The held-out renders: each query picture with a tag (words and corner drawn with their own seed), and each plain
held_rng = random.Random(1_000 + args.seed)
held_out = [{'picture': int(q), 'words': w, 'corner': c} for q in query_idx for w, c in [draw_words(held_rng)]]


def render(r: dict) -> np.ndarray:
    big = enlarged(test_x[r['picture']:r['picture'] + 1])[0]
    return draw_tag(big, r['words'], r['corner']) if r['words'] else big


def reading_figures() -> dict:
    tagged = [tokenizer.decode(t).strip() for t in greedy(np.stack([render(r) for r in held_out]), READ_PROMPT, 8)]
    plain = [tokenizer.decode(t).strip() for t in greedy(test_px[query_idx], READ_PROMPT, 8)]
    print('reading, e.g.', list(zip(tagged[:5], [' '.join(r['words']) for r in held_out[:5]])), flush=True)
    return {'accuracyWithWords': sum(t == ' '.join(r['words']) for t, r in zip(tagged, held_out)) / len(held_out),
            'accuracyWithout': sum(t == 'none' for t in plain) / len(plain)}


report = {'seed': args.seed, 'threads': args.threads, 'trainImages': args.train_images, 'steps': args.steps,
          'warmupSteps': args.warmup_steps, 'warmupSeconds': warmup_seconds, 'tasks': TASKS,
          'batch': BATCH, 'learningRate': {'text': args.lr, 'tower': args.tower_lr}, 'seconds': seconds,
          'text': {'layers': args.layers, 'hidden': 64, 'vocab': len(tokenizer)},
          'vision': 'its own tower (src/engine/demo/models/fashion-instruct-mmproj.gguf, 4 to 16 tokens: plain pictures '
                    'at 64x64, renders at 128x128): the demo '
                    'vision tower, fine-tuned with the text side; search, few-shot examples and the judge\'s pairs '
                    'use the vision demo\'s own (fashion-vision-mmproj.gguf)',
          'judgePairs': mined}
t = time.time()
for lang in ('en', 'zh'):
    acc, texts = describe_accuracy(lang)
    report[f'describe_{lang}'] = acc
    print(f'describe {lang}: {acc:.3f}, e.g. {texts[:3]}', flush=True)
report['rerank'] = rerank_figures(10)
report['rerank20'] = rerank_figures(20)
print('rerank', report['rerank'], report['rerank20'], flush=True)
report['reading'] = {'prompt': READ_PROMPT, 'vocabulary': VOCABULARY, **reading_figures(),
                     'heldOut': len(held_out), 'tag': TAG, 'font': FONT, 'renders': held_out}
print('reading', {k: v for k, v in report['reading'].items() if 'ccuracy' in k}, flush=True)
report['fewshot'] = fewshot_figures()
print('fewshot', report['fewshot'], f'(evaluation {time.time() - t:.0f} s)', flush=True)
report['versions'] = {'torch': torch.__version__, 'transformers': __import__('transformers').__version__}

# The files --------------------------------------------------------------------------------------------------------
shutil.rmtree(HF, ignore_errors=True)
tiny.save_hf(model, tokenizer, HF, 'instruct', TOKENS, READ_TOKENS)
tiny.convert(HF, OUT / 'fashion-instruct-text.gguf', mmproj=False, outtype='f32')
tiny.convert(HF, OUT / 'fashion-instruct-mmproj.gguf', mmproj=True, outtype='f32', tokens=(TOKENS, READ_TOKENS))
(OUT / 'instruct.json').write_text(json.dumps(report, indent=1, ensure_ascii=False) + '\n')
# the fidelity fixtures: greedy describe on 10 held-out pictures (one of each class), in both languages; greedy
# reading on 10 held-out renders (the first of each class) and 4 plain queries
fixed = [int(query_idx[test_y[query_idx] == c][0]) for c in range(10)]
fixture = {'pictures': fixed, 'prompts': {'en': DESCRIBE_EN, 'zh': DESCRIBE_ZH}, 'maxTokens': 32}
for lang in ('en', 'zh'):
    fixture[lang] = [{'tokens': t, 'text': tokenizer.decode(t)} for t in greedy(test_px[fixed], fixture['prompts'][lang])]
(FIXTURES / 'instruct-describe.json').write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + '\n')
renders = [next(r for r in held_out if test_y[r['picture']] == c) for c in range(10)] + \
          [{'picture': int(q), 'words': [], 'corner': 0} for q in query_idx[:4]]
read = [{'tokens': t, 'text': tokenizer.decode(t)} for t in greedy(np.stack([render(r) for r in renders]), READ_PROMPT, 8)]
(FIXTURES / 'instruct-read.json').write_text(json.dumps({'prompt': READ_PROMPT, 'maxTokens': 8, 'renders': renders,
                                                          'answers': read}, indent=1, ensure_ascii=False) + '\n')
print(json.dumps({k: v for k, v in report.items() if k != 'reading'}, indent=1, ensure_ascii=False))
