"""Reference outputs of transformers' Qwen3-VL for the tiny models of make_models.py, as a committed fixture.

  python scripts/reference/reference_outputs.py [--hf /tmp/lookalike-hf] [--out test/fixtures/reference]

Writes images/*.png|jpg (the inputs), resized/*.png (the pixels transformers' processor fed the model), reference.json
(cases, shapes, offsets) and reference.bin (float32, little-endian). test/fidelity.test.ts compares lookalike with it.

What is computed, as Qwen's own code does it:
- vision: `model.model.visual(pixel_values, grid_thw)`: per-token main output (pooler_output) and the deepstack
  outputs, and the pooled vector (the L2-normalised mean of the main tokens: lookalike's `mean` pooling);
- embedding: Qwen3-VL-Embedding's format_model_input + _pooling_last: the chat with a system instruction, the user's
  image then text, the generation prompt; the last token's hidden state after the final norm, L2-normalised;
- reranker: Qwen3-VL-Reranker's prompt; sigmoid((lm_head[yes] - lm_head[no]) . h_last).
Images are resized as transformers' processor does with its PIL backend (and as Qwen's qwen-vl-utils does): PIL
bicubic to the smart_resize size. Deliberately broken variants of two cases (swapped RoPE axes, a transposed
position grid, position interpolation without align_corners, the wrong normalisation) let the test prove it fails.
"""
import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

import tiny
from transformers import AutoTokenizer, Qwen3VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen3_vl import modeling_qwen3_vl

ap = argparse.ArgumentParser()
ap.add_argument('--hf', default='/tmp/lookalike-hf')
ap.add_argument('--out', default=str(tiny.ROOT / 'test/fixtures/reference'))
args = ap.parse_args()
HF, OUT = Path(args.hf), Path(args.out)
(OUT / 'images').mkdir(parents=True, exist_ok=True)
(OUT / 'resized').mkdir(parents=True, exist_ok=True)
MIN_T, MAX_T = 64, 256
torch.set_grad_enabled(False)


def scene(w: int, h: int, seed: int) -> np.ndarray:
    """A deterministic picture with structure at several scales: gradients, discs, stripes and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        img[..., c] = 127 + 80 * np.sin(x / w * rng.uniform(2, 9) + c) * np.cos(y / h * rng.uniform(2, 9) - c)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * min(w, h)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img[(np.floor(x / max(2, w / 16)) % 2 == 0) & (y > h * 0.8)] *= 0.5
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# name, source size (w, h), what it tests
CASES = [
    ('square-256', (256, 256), 'no resize, 64 tokens'),
    ('wide-512x256', (512, 256), 'no resize, 128 tokens'),
    ('small-64', (64, 64), 'enlarged 4x to the 64-token minimum'),
    ('enlarge-300x200', (300, 200), 'enlarged to 320x224'),
    ('odd-257x255', (257, 255), 'odd size, resampled to 256x256'),
    ('reduce-1000x700', (1000, 700), 'reduced to the 256-token maximum'),
    ('reduce-2000x1500', (2000, 1500), 'reduced by 4x and more'),
    ('strip-640x100', (640, 100), 'extreme aspect: enlarged across, kept along'),
    ('tall-70x500', (70, 500), 'extreme aspect, tall'),
    ('exif-rotated', (200, 300), 'JPEG with EXIF orientation 6 (rotated 90 degrees on decode)'),
]

# transformers' Qwen2-VL image processor with its PIL backend (the one without torchvision; Qwen3VLProcessor as a
# whole wants torchvision for its video part, so the text side is assembled below as the processor does it)
image_processor = Qwen2VLImageProcessorPil.from_pretrained(HF / 'instruct')


class Processor:
    """Qwen3VLProcessor's text and image path: the chat template, each <|image_pad|> repeated once per merged token."""

    def __init__(self, folder: Path):
        self.tokenizer = AutoTokenizer.from_pretrained(folder)

    def __call__(self, conversation: list, images: list) -> dict:
        prompt = self.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = {}
        if images:
            out = image_processor(images=images, return_tensors='pt', do_resize=False)
            inputs = {'pixel_values': out['pixel_values'], 'image_grid_thw': out['image_grid_thw']}
            parts = prompt.split('<|image_pad|>')
            assert len(parts) == len(images) + 1
            prompt = parts[0] + ''.join('<|placeholder|>' * int(g.prod() // 4) + p for g, p in zip(out['image_grid_thw'], parts[1:]))
            prompt = prompt.replace('<|placeholder|>', '<|image_pad|>')
        ids = self.tokenizer(prompt, return_tensors='pt')
        if images:  # the processor's create_mm_token_type_ids: 1 marks image tokens, for M-RoPE
            inputs['mm_token_type_ids'] = (ids['input_ids'] == self.tokenizer.convert_tokens_to_ids('<|image_pad|>')).int()
        return {**inputs, 'input_ids': ids['input_ids'], 'attention_mask': ids['attention_mask']}


def load_rgb(path: Path) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(path)).convert('RGB')


def pixel_inputs(img: Image.Image, mean=None, std=None):
    kw = {} if mean is None else {'image_mean': mean, 'image_std': std}
    out = image_processor(images=[img], return_tensors='pt', **kw)
    return out['pixel_values'], out['image_grid_thw']


def smart_resize_size(w: int, h: int) -> tuple[int, int]:
    factor, lo, hi = tiny.ALIGN, MIN_T * tiny.ALIGN ** 2, MAX_T * tiny.ALIGN ** 2
    hb, wb = round(h / factor) * factor, round(w / factor) * factor
    if hb * wb > hi:
        beta = math.sqrt(h * w / hi)
        hb, wb = max(factor, math.floor(h / beta / factor) * factor), max(factor, math.floor(w / beta / factor) * factor)
    elif hb * wb < lo:
        beta = math.sqrt(lo / (h * w))
        hb, wb = math.ceil(h * beta / factor) * factor, math.ceil(w * beta / factor) * factor
    return wb, hb


blobs: list[np.ndarray] = []
offset = 0


def put(arr) -> dict:
    global offset
    a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    blobs.append(a)
    ref = {'offset': offset, 'shape': list(a.shape)}
    offset += a.size
    return ref


def ggml_gelu_table() -> torch.Tensor:
    """ggml_table_gelu_f16 as ggml-cpu.c fills it: ggml_gelu_f32 in float32 arithmetic at every half value, rounded."""
    x = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
    with np.errstate(all='ignore'):
        inner = np.float32(0.79788456080286535587989211986876) * x * (np.float32(1) + np.float32(0.044715) * x * x)
        y = np.float32(0.5) * x * (np.float32(1) + np.tanh(inner))
    return torch.from_numpy(y.astype(np.float16).astype(np.float32))


class GgmlGelu(torch.nn.Module):
    """ggml's CPU GELU (GGML_GELU_FP16): the input rounded to half, looked up in the table; exact past +-10."""
    table = ggml_gelu_table()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.table[x.half().view(torch.int16).long() & 0xFFFF]
        return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, y))


class GgmlNumerics:
    """Within this block the vision tower computes as llama.cpp's CPU graph does: every GELU (transformers' erf GELU
    in the mergers included) is ggml_gelu, and the patch embedding sees its input and its kernel rounded to F16
    (ggml_conv_2d's im2col is F16, and the matrix product then takes the kernel as F16 too)."""

    def __init__(self, model):
        v = model.model.visual
        self.mods = [b.mlp for b in v.blocks] + [v.merger] + list(v.deepstack_merger_list)
        self.embed = v.patch_embed

    def __enter__(self):
        self.saved = [m.act_fn for m in self.mods]
        for m in self.mods:
            m.act_fn = GgmlGelu()
        self.forward = self.embed.forward
        self.embed.forward = lambda x: self.forward(x.half().float())
        self.kernel = self.embed.proj.weight.detach().clone()
        self.embed.proj.weight.data.copy_(self.kernel.half().float())

    def __exit__(self, *exc):
        for m, a in zip(self.mods, self.saved):
            m.act_fn = a
        self.embed.forward = self.forward
        self.embed.proj.weight.data.copy_(self.kernel)


def vision_outputs(model, pixel_values, grid):
    out = model.model.visual(pixel_values, grid_thw=grid)
    main = out.pooler_output
    deep = torch.stack(list(out.deepstack_features))  # (n_deepstack, tokens, dim)
    pooled = F.normalize(main.mean(0), dim=0)
    return main, deep, pooled


instruct = Qwen3VLForConditionalGeneration.from_pretrained(HF / 'instruct').eval()
fixture = {'about': __doc__.strip().splitlines()[0], 'minTokens': MIN_T, 'maxTokens': MAX_T,
           'models': {'vision': 'models/vision-mmproj.gguf', 'embedding': ['models/embedding-text.gguf', 'models/embedding-mmproj.gguf'],
                      'reranker': ['models/reranker-text.gguf', 'models/reranker-mmproj.gguf']},
           'vision': [], 'broken': [], 'embedding': [], 'reranker': []}

for i, (name, (w, h), what) in enumerate(CASES):
    pixels = scene(w, h, 100 + i)
    if name == 'exif-rotated':
        file = f'{name}.jpg'
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 clockwise on display: the upright picture is h x w
        Image.fromarray(pixels).save(OUT / 'images' / file, quality=95, subsampling=0, exif=exif)
    else:
        file = f'{name}.png'
        Image.fromarray(pixels).save(OUT / 'images' / file)
    img = load_rgb(OUT / 'images' / file)
    size = smart_resize_size(*img.size)
    pv, grid = pixel_inputs(img)
    assert (int(grid[0, 2]) * 16, int(grid[0, 1]) * 16) == size, (name, grid, size)
    resized = img.resize(size, Image.BICUBIC)  # what the processor resized to, saved for a pixel-level check
    resized.save(OUT / 'resized' / f'{name}.png')
    main, deep, pooled = vision_outputs(instruct, pv, grid)
    with GgmlNumerics(instruct):
        g_main, g_deep, _ = vision_outputs(instruct, pv, grid)
    numerics = float(max((g_main - main).abs().max(), (g_deep - deep).abs().max()))
    fixture['vision'].append({'name': name, 'file': f'images/{file}', 'about': what, 'source': list(img.size), 'size': list(size),
                              'tokens': int(main.shape[0]), 'main': put(main), 'deepstack': put(deep), 'pooled': put(pooled),
                              'ggml': {'main': put(g_main), 'deepstack': put(g_deep)}, 'numericsMaxDiff': numerics,
                              'maxAbs': float(max(main.abs().max(), deep.abs().max()))})
    print(f'{name}: {img.size} -> {size}, {main.shape[0]} tokens, ggml numerics move outputs by up to {numerics:.2e}')

# Deliberate breaks, each a plausible porting bug, on one case without resize and one enlarged
ROPE_IDS = modeling_qwen3_vl.get_vision_position_ids
for name in ('square-256', 'enlarge-300x200'):
    case = next(c for c in fixture['vision'] if c['name'] == name)
    img = load_rgb(OUT / case['file'])
    pv, grid = pixel_inputs(img)
    modeling_qwen3_vl.get_vision_position_ids = lambda *a, **k: ROPE_IDS(*a, **k).flip(-1)
    broken = {'swapped RoPE axes': vision_outputs(instruct, pv, grid)}
    modeling_qwen3_vl.get_vision_position_ids = ROPE_IDS
    pos = instruct.model.visual.pos_embed.weight
    saved = pos.clone()
    side = int(pos.shape[0] ** 0.5)
    pos.copy_(saved.view(side, side, -1).transpose(0, 1).reshape(pos.shape))
    broken['transposed position grid'] = vision_outputs(instruct, pv, grid)
    pos.copy_(saved)
    instruct.model.visual.interpolation_align_corners = False
    broken['position interpolation without align_corners'] = vision_outputs(instruct, pv, grid)
    instruct.model.visual.interpolation_align_corners = True
    clip_mean, clip_std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    broken['CLIP normalisation instead of 0.5/0.5'] = vision_outputs(instruct, *pixel_inputs(img, clip_mean, clip_std))
    for what, (main, deep, pooled) in broken.items():
        fixture['broken'].append({'case': name, 'break': what, 'main': put(main), 'deepstack': put(deep), 'pooled': put(pooled)})

# Qwen3-VL-Embedding: format_model_input + _pooling_last
ITEM, QUERY = "Represent the user's input.", "Retrieve images or text relevant to the user's query."
emb_processor = Processor(HF / 'embedding')
embedder = Qwen3VLForConditionalGeneration.from_pretrained(HF / 'embedding').eval()


def chat(instruction: str, text: str | None, image: Image.Image | None) -> list:
    content = []
    if image is None and not text:
        content.append({'type': 'text', 'text': 'NULL'})
    if image is not None:
        content.append({'type': 'image', 'image': image})
    if text:
        content.append({'type': 'text', 'text': text})
    return [{'role': 'system', 'content': [{'type': 'text', 'text': instruction}]}, {'role': 'user', 'content': content}]


def embed(instruction: str, text: str | None, image: Image.Image | None):
    images = [] if image is None else [image.resize(smart_resize_size(*image.size), Image.BICUBIC)]
    inputs = emb_processor(chat(instruction, text, image), images)
    hidden = embedder.model(**inputs).last_hidden_state
    return F.normalize(hidden[0, -1], dim=0), inputs['input_ids'][0].tolist()


for name, instruction, text, image_case in [
    ('text: a photo of a sneaker', QUERY, 'a photo of a sneaker', None),
    ('text: 运动鞋', QUERY, '运动鞋', None),
    ('image: square-256', ITEM, None, 'square-256'),
    ('image: enlarge-300x200', ITEM, None, 'enlarge-300x200'),
    ('image: exif-rotated', ITEM, None, 'exif-rotated'),
    ('image and text: square-256 + at night', QUERY, 'the same, but at night', 'square-256'),
]:
    img = None if image_case is None else load_rgb(OUT / next(c['file'] for c in fixture['vision'] if c['name'] == image_case))
    vec, ids = embed(instruction, text, img)
    fixture['embedding'].append({'name': name, 'instruction': instruction, 'text': text, 'image': image_case,
                                 'promptTokens': len(ids), 'vector': put(vec)})
    print(f'embedding {name}: {len(ids)} prompt tokens')

# Qwen3-VL-Reranker: its prompt, sigmoid of the yes-minus-no row of lm_head on the last hidden state
rr_processor = Processor(HF / 'reranker')
reranker = Qwen3VLForConditionalGeneration.from_pretrained(HF / 'reranker').eval()
tok = rr_processor.tokenizer
w = reranker.lm_head.weight[tok.convert_tokens_to_ids('yes')] - reranker.lm_head.weight[tok.convert_tokens_to_ids('no')]
RR_SYSTEM = 'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".'
RR_INSTRUCT = 'Given a search query, retrieve relevant candidates that answer the query.'


def rerank(query_text: str | None, query_image: Image.Image | None, doc_image: Image.Image) -> float:
    content = [{'type': 'text', 'text': '<Instruct>: ' + RR_INSTRUCT}, {'type': 'text', 'text': '<Query>:'}]
    content.append({'type': 'image', 'image': query_image} if query_image is not None else {'type': 'text', 'text': query_text})
    content += [{'type': 'text', 'text': '\n<Document>:'}, {'type': 'image', 'image': doc_image}]
    conv = [{'role': 'system', 'content': [{'type': 'text', 'text': RR_SYSTEM}]}, {'role': 'user', 'content': content}]
    images = [i.resize(smart_resize_size(*i.size), Image.BICUBIC) for i in (query_image, doc_image) if i is not None]
    inputs = rr_processor(conv, images)
    h = reranker.model(**inputs).last_hidden_state[0, -1]
    return float(torch.sigmoid(h @ w))


def case_image(name: str) -> Image.Image:
    return load_rgb(OUT / next(c['file'] for c in fixture['vision'] if c['name'] == name))


for q_text, q_img, doc in [(None, 'square-256', 'square-256'), (None, 'square-256', 'enlarge-300x200'),
                           ('a photo of a sneaker', None, 'small-64'), ('运动鞋', None, 'odd-257x255')]:
    score = rerank(q_text, None if q_img is None else case_image(q_img), case_image(doc))
    fixture['reranker'].append({'queryText': q_text, 'queryImage': q_img, 'document': doc, 'score': score})
    print(f'reranker {q_text or q_img} vs {doc}: {score:.6f}')

(OUT / 'reference.bin').write_bytes(b''.join(b.astype('<f4').tobytes() for b in blobs))
(OUT / 'reference.json').write_text(json.dumps(fixture, indent=1, ensure_ascii=False))
print(f'{offset} floats, {offset * 4 / 1e6:.1f} MB')
