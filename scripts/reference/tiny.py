"""Tiny Qwen3-VL models built with transformers' own classes, and their conversion with llama.cpp's own converter.

Development-time only (see scripts/reference/README.md). Three models share one architecture family:
- the vision tower (an Instruct-style Qwen3VLForConditionalGeneration; only its mmproj is used by lookalike),
- an embedding model (Qwen3-VL-Embedding style: last-token pooling, declared in modules.json as sentence-transformers
  does, so the converter writes pooling LAST),
- a reranker (Qwen3-VL-Reranker style: the converter turns the lm_head rows of "yes" and "no" into cls.output).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
LLAMA_SRC = Path(os.environ.get('LLAMA_CPP_SRC', ROOT / 'node_modules/.cache/lookalike/llama.cpp-v0.4.0'))

# Image token limits a model is meant to be served at; written into the mmproj as llama.cpp's own keys
# clip.vision.image_min_pixels / image_max_pixels (32x32 pixels per token), which lookalike reads as its defaults.
ALIGN = 32

CHAT_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>',
                 '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>']
# Qwen's chat template, reduced to what these models use: text and image items, system/user/assistant turns.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FASHION_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
FASHION_CLASSES_ZH = ['T恤', '裤子', '套头衫', '连衣裙', '外套', '凉鞋', '衬衫', '运动鞋', '包', '短靴']


def vision_config(out_hidden: int = 64) -> dict:
    return dict(depth=3, hidden_size=64, num_heads=4, intermediate_size=128, patch_size=16, spatial_merge_size=2,
                temporal_patch_size=2, out_hidden_size=out_hidden, num_position_embeddings=256,
                deepstack_visual_indexes=[0, 1], hidden_act='gelu_pytorch_tanh')


def text_config(vocab: int, layers: int = 4) -> dict:
    # rms_norm_eps stays 1e-6: llama.cpp's converter copies it into the *vision* LayerNorm eps, which transformers
    # hard-codes to 1e-6 (README "Known limits")
    return dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=layers, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6, max_position_embeddings=4096,
                rope_parameters={'rope_type': 'default', 'rope_theta': 5_000_000.0, 'mrope_section': [3, 3, 2],
                                 'mrope_interleaved': True})


def build_tokenizer(corpus: list[str], vocab_size: int = 640):
    """A byte-level BPE with Qwen2's pre-tokenizer, trained on `corpus`, plus Qwen's chat special tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    qwen2_split = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(qwen2_split), behavior='isolated'),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token='<|im_end|>', pad_token='<|endoftext|>')
    # "yes" and "no" as single tokens: the reranker's answer tokens (the converter looks them up by these strings)
    fast.add_tokens(['yes', 'no'])
    fast.add_special_tokens({'additional_special_tokens': CHAT_SPECIALS})
    fast.chat_template = CHAT_TEMPLATE
    return fast


def default_corpus() -> list[str]:
    lines = [
        "Represent the user's input.", "Retrieve images or text relevant to the user's query.",
        'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
        'Note that the answer can only be "yes" or "no".',
        'Given a search query, retrieve relevant candidates that answer the query.',
        'Describe this image.', 'What is in this picture?', 'Are these two pictures the same kind of thing?',
        '<Instruct>: <Query>: <Document>:', 'yes no', 'system user assistant',
    ]
    for en, zh in zip(FASHION_CLASSES, FASHION_CLASSES_ZH):
        lines += [f'a photo of {en}', f'a photo of a {en}', f'a picture of a {en}', en, zh, f'一张{zh}的照片', f'{zh}的图片']
    lines += ['red bicycle in the snow', 'a golden retriever by the pool', 'sunset over the ocean', 'a forest at night',
              'shoes, clothes, bags, boots, sneakers, shirts, dresses, coats, trousers', '衣服 鞋子 包 靴子']
    return lines * 4


def tokenizer_ids(tokenizer) -> dict:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in CHAT_SPECIALS}
    return {'image': ids['<|image_pad|>'], 'video': ids['<|video_pad|>'], 'vision_start': ids['<|vision_start|>'],
            'vision_end': ids['<|vision_end|>'], 'pad': ids['<|endoftext|>'], 'eos': ids['<|im_end|>']}


def build_model(tokenizer, seed: int, layers: int = 4):
    """A Qwen3VLForConditionalGeneration with transformers' own classes, weights redrawn so the tower is not flat."""
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    ids = tokenizer_ids(tokenizer)
    cfg = Qwen3VLConfig(vision_config=vision_config(), text_config=text_config(len(tokenizer), layers),
                        image_token_id=ids['image'], video_token_id=ids['video'],
                        vision_start_token_id=ids['vision_start'], vision_end_token_id=ids['vision_end'],
                        tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(cfg).eval()
    redraw_(model, seed)
    return model


@torch.no_grad()
def redraw_(model, seed: int) -> None:
    """transformers' init (std 0.02) gives a near-constant tower; this keeps activations alive through random layers:
    matrices with variance 1/fan_in, norm weights in [0.5, 1.5], biases +-0.1, the position grid +-0.5."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if 'pos_embed' in name:
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * 0.5)
        elif p.dim() >= 2:
            fan_in = p[0].numel()
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * (3 / fan_in) ** 0.5)
        elif 'norm' in name and name.endswith('weight'):
            p.copy_(torch.rand(p.shape, generator=g) + 0.5)
        else:
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * 0.1)


PREPROCESSOR = {'image_processor_type': 'Qwen2VLImageProcessor', 'processor_class': 'Qwen3VLProcessor',
                'patch_size': 16, 'merge_size': 2, 'temporal_patch_size': 2,
                'image_mean': [0.5, 0.5, 0.5], 'image_std': [0.5, 0.5, 0.5], 'do_rescale': True, 'do_normalize': True,
                'do_convert_rgb': True, 'resample': 3}


def save_hf(model, tokenizer, out: Path, role: str, min_tokens: int, max_tokens: int) -> None:
    """Writes a Hugging Face folder the converter reads. `role`: 'instruct', 'embedding' or 'reranker'."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    pre = dict(PREPROCESSOR, size={'shortest_edge': min_tokens * ALIGN * ALIGN, 'longest_edge': max_tokens * ALIGN * ALIGN})
    (out / 'preprocessor_config.json').write_text(json.dumps(pre, indent=2))
    if role == 'embedding':  # sentence-transformers' declaration of last-token pooling: the converter reads it
        (out / 'modules.json').write_text(json.dumps([{'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
                                                      {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type': 'sentence_transformers.models.Pooling'}]))
        (out / '1_Pooling').mkdir(exist_ok=True)
        (out / '1_Pooling/config.json').write_text(json.dumps({'word_embedding_dimension': 64, 'pooling_mode_lasttoken': True}))
    if role == 'reranker':  # how the converter recognises a Qwen3(-VL) reranker
        (out / 'README.md').write_text('# Qwen3-VL-Reranker (tiny, random, for tests)\n')


def convert(hf_dir: Path, outfile: Path, mmproj: bool, outtype: str = 'f32', tokens: tuple[int, int] | None = None) -> None:
    """llama.cpp's own convert_hf_to_gguf.py, from the source node-llama-cpp ships. convert.py beside this file adds
    only the pre-tokenizer name of our small tokenizer (the converter cannot know it by its hash) and, with `tokens`,
    the mmproj's intended token limits as llama.cpp's own keys."""
    cmd = [sys.executable, str(Path(__file__).with_name('convert.py')), str(hf_dir), '--outtype', outtype, '--outfile', str(outfile)]
    if mmproj:
        cmd.append('--mmproj')
    env = dict(os.environ, PYTHONPATH=str(LLAMA_SRC / 'gguf-py'), LLAMA_CPP_SRC=str(LLAMA_SRC))
    if tokens:
        env['LOOKALIKE_TOKEN_LIMITS'] = f'{tokens[0]},{tokens[1]}'
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
