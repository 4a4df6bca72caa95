"""llama.cpp's convert_hf_to_gguf.py, run unchanged but for two additions made from outside:
- our small test tokenizer uses Qwen2's pre-tokenizer, but the converter recognises pre-tokenizers by a hash of
  their output on a fixed text, which depends on the vocabulary too: an unknown hash is named 'qwen2' here;
- LOOKALIKE_TOKEN_LIMITS=min,max adds llama.cpp's own clip.vision.image_min_pixels / image_max_pixels keys to an
  mmproj (32x32 pixels per token): the resolution a trained model is meant to be served at, which lookalike reads.
"""
import os
import sys
from pathlib import Path

src = Path(os.environ['LLAMA_CPP_SRC'])
sys.path.insert(0, str(src))
sys.argv[0] = str(src / 'convert_hf_to_gguf.py')

import convert_hf_to_gguf as converter  # noqa: E402
from conversion import base, qwen3vl  # noqa: E402

known_pre = base.TextModel.get_vocab_base_pre


def get_vocab_base_pre(self, tokenizer):
    try:
        return known_pre(self, tokenizer)
    except NotImplementedError:
        return 'qwen2'


base.TextModel.get_vocab_base_pre = get_vocab_base_pre

limits = os.environ.get('LOOKALIKE_TOKEN_LIMITS')
if limits:
    lo, hi = (int(x) for x in limits.split(','))
    vision_params = qwen3vl.Qwen3VLVisionModel.set_gguf_parameters

    def set_gguf_parameters(self):
        vision_params(self)
        self.gguf_writer.add_uint32('clip.vision.image_min_pixels', lo * 32 * 32)
        self.gguf_writer.add_uint32('clip.vision.image_max_pixels', hi * 32 * 32)

    qwen3vl.Qwen3VLVisionModel.set_gguf_parameters = set_gguf_parameters

converter.main()
