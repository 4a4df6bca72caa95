"""Builds the tiny reference models with transformers' own classes and converts them with llama.cpp's converter.

  python scripts/reference/make_models.py [--out test/fixtures/reference/models] [--hf /tmp/lookalike-hf]

Writes, from fixed seeds (the same files every run on the same versions):
  vision-mmproj.gguf        the vision tower of a Qwen3-VL (Instruct-style) model
  embedding-text.gguf, embedding-mmproj.gguf   a Qwen3-VL-Embedding-style model (pooling LAST)
  reranker-text.gguf, reranker-mmproj.gguf     a Qwen3-VL-Reranker-style model (cls.output from "yes"/"no")
The Hugging Face folders stay in --hf for reference_outputs.py.
"""
import argparse
import shutil
from pathlib import Path

import tiny

ap = argparse.ArgumentParser()
ap.add_argument('--out', default=str(tiny.ROOT / 'test/fixtures/reference/models'))
ap.add_argument('--hf', default='/tmp/lookalike-hf')
args = ap.parse_args()
out, hf = Path(args.out), Path(args.hf)
out.mkdir(parents=True, exist_ok=True)

tokenizer = tiny.build_tokenizer(tiny.default_corpus())
MIN_T, MAX_T = 64, 256  # lookalike's defaults: these fixtures test preprocessing at them
for role, seed in (('instruct', 11), ('embedding', 12), ('reranker', 13)):
    d = hf / role
    shutil.rmtree(d, ignore_errors=True)
    model = tiny.build_model(tokenizer, seed)
    tiny.save_hf(model, tokenizer, d, role, MIN_T, MAX_T)
    name = 'vision' if role == 'instruct' else role
    tiny.convert(d, out / f'{name}-mmproj.gguf', mmproj=True)
    if role != 'instruct':
        tiny.convert(d, out / f'{name}-text.gguf', mmproj=False)
    print(f'{role}: {d} -> {out}')
