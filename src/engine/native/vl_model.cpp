// VlModel: the full vision-language model, a text GGUF loaded by libllama plus its mmproj loaded by mtmd.
// Prompts hold images (the media marker); score() reads the last position's logits for given tokens,
// generate() samples text and streams it, embed() runs only the vision tower through the same mtmd context
// (so one copy of the mmproj serves search and generation). JS validates every argument first.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

namespace {

struct ImageInput {
  std::vector<uint8_t> rgb;
  uint32_t width = 0, height = 0;
  std::string id;  // content id from JS: a repeated image reuses its vision-tower output
};

// Owners of what llama.cpp and mtmd allocate: freed however a call ends, an error or an exception included.
struct ChunksDeleter {
  void operator()(mtmd_input_chunks * c) const { mtmd_input_chunks_free(c); }
};
using ChunksPtr = std::unique_ptr<mtmd_input_chunks, ChunksDeleter>;
struct BitmapDeleter {
  void operator()(mtmd_bitmap * b) const { mtmd_bitmap_free(b); }
};
using BitmapPtr = std::unique_ptr<mtmd_bitmap, BitmapDeleter>;
struct SamplerDeleter {
  void operator()(llama_sampler * s) const { llama_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;
// A llama_batch of up to n tokens of one sequence id each.
class Batch {
 public:
  explicit Batch(int32_t n) : b(llama_batch_init(n, 0, 1)) {}
  ~Batch() { llama_batch_free(b); }
  Batch(const Batch &) = delete;
  Batch & operator=(const Batch &) = delete;
  llama_batch b;
};

// A prompt arrives in parts: the chat template's own text (special tokens parsed, media markers replaced by images)
// and the user's text (tokenized as plain text: typing "<|im_start|>" or the media marker cannot change the prompt's
// structure). Each part becomes a segment: mtmd chunks, or plain tokens.
struct PromptPart {
  std::string text;
  bool special = false;
};
struct Segment {
  ChunksPtr chunks;                 // a special part
  std::vector<llama_token> tokens;  // a plain part
};

size_t count_occurrences(const std::string & s, const std::string & needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) n++;
  return n;
}

// Number of leading bytes of s that form complete UTF-8 characters (a token may end inside one).
size_t utf8_complete(const std::string & s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4) {
    unsigned char c = s[i - 1];
    if ((c & 0xC0) != 0x80) {  // a lead byte (or ASCII): is its sequence complete?
      size_t need = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
      return back + 1 >= need ? s.size() : i - 1;
    }
    i--;
    back++;
  }
  return s.size();
}

// Frees what a load made, in reverse order of creation, and clears the pointers.
void free_handles(llama_model *& model, llama_context *& ctx, mtmd_context *& mctx, llama_adapter_lora *& lora) {
  if (mctx) mtmd_free(mctx);
  if (ctx) llama_free(ctx);
  if (lora) llama_adapter_lora_free(lora);
  if (model) llama_model_free(model);
  mctx = nullptr;
  ctx = nullptr;
  lora = nullptr;
  model = nullptr;
}

class VlModel : public Napi::ObjectWrap<VlModel> {
 public:
  explicit VlModel(const Napi::CallbackInfo & info) : Napi::ObjectWrap<VlModel>(info) {}
  ~VlModel() override { release(); }

  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "VlModel",
                       {InstanceMethod<&VlModel::guarded<&VlModel::load>>("load"),
                        InstanceMethod<&VlModel::guarded<&VlModel::info>>("info"),
                        InstanceMethod<&VlModel::guarded<&VlModel::applyTemplate>>("applyTemplate"),
                        InstanceMethod<&VlModel::guarded<&VlModel::tokenize>>("tokenize"),
                        InstanceMethod<&VlModel::guarded<&VlModel::score>>("score"),
                        InstanceMethod<&VlModel::guarded<&VlModel::scoreBatch>>("scoreBatch"),
                        InstanceMethod<&VlModel::guarded<&VlModel::generate>>("generate"),
                        InstanceMethod<&VlModel::guarded<&VlModel::embed>>("embed"),
                        InstanceMethod<&VlModel::guarded<&VlModel::embedPrompt>>("embedPrompt"),
                        InstanceMethod<&VlModel::guarded<&VlModel::cancel>>("cancel"),
                        InstanceMethod<&VlModel::guarded<&VlModel::dispose>>("dispose")});
  }

  llama_model * model = nullptr;
  llama_context * ctx = nullptr;
  mtmd_context * mctx = nullptr;
  llama_adapter_lora * lora = nullptr;
  std::string load_log;  // what llama.cpp said while loading (diagnostics only: placement comes from ggml, below)
  std::string vision_device = "CPU";  // where the vision tower's weights are, from mtmd_get_memory_usage
  int32_t layers_on_gpu = 0;          // text layers on a GPU (see LoadWorker::layers_on_gpu)
  // The stable code of the current call's failure (calls are serialised per model): null for "native_error".
  const char * error_code = nullptr;
  const char * failure_code() const { return error_code ? error_code : "native_error"; }
  std::string mode = "generate";
  int n_batch = 512;
  bool busy = false;
  std::atomic<bool> cancelled{false};
  // The vision tower's output for the last few images, by content id: re-ranking asks about the same query image
  // with every candidate, and it is the costliest part of each prompt.
  struct CachedImage {
    std::string id;
    std::vector<float> embd;
  };
  std::deque<CachedImage> image_cache;
  std::vector<float> scratch;
  static constexpr size_t IMAGE_CACHE_SIZE = 8;
  uint32_t max_batch = 1;  // candidates decoded side by side (load's maxBatch, set by JS); more go in turns

  // Encodes an image chunk, or finds it in the cache; returns its embeddings or nullptr. `remember` false: a batch's
  // candidates, each seen once, would push the query image (the one worth keeping) out of the small cache.
  float * image_embedding(const mtmd_input_chunk * chunk, bool remember = true) {
    const char * raw_id = mtmd_input_chunk_get_id(chunk);
    const std::string id = raw_id ? raw_id : "";
    if (!id.empty()) {
      for (auto & c : image_cache)
        if (c.id == id) return c.embd.data();
    }
    if (mtmd_encode_chunk(mctx, chunk) != 0) return nullptr;
    const float * out = mtmd_get_output_embd(mctx);
    const size_t count = mtmd_input_chunk_get_n_tokens(chunk) * static_cast<size_t>(llama_model_n_embd_inp(model));
    if (id.empty() || !remember) {
      scratch.assign(out, out + count);
      return scratch.data();
    }
    if (image_cache.size() >= IMAGE_CACHE_SIZE) image_cache.pop_front();
    image_cache.push_back({id, std::vector<float>(out, out + count)});
    return image_cache.back().embd.data();
  }

  void release() {
    image_cache.clear();
    free_handles(model, ctx, mctx, lora);
  }

  // Tokenizes a special part with its images into chunks; returns an error message, or "" on success.
  std::string tokenize_chunks(const std::string & prompt, const ImageInput * images, size_t n_images, ChunksPtr & out,
                              bool add_special) {
    std::vector<BitmapPtr> owned;
    std::vector<const mtmd_bitmap *> bitmaps;
    for (size_t i = 0; i < n_images; i++) {
      owned.emplace_back(mtmd_bitmap_init(images[i].width, images[i].height, images[i].rgb.data()));
      if (!images[i].id.empty()) mtmd_bitmap_set_id(owned.back().get(), images[i].id.c_str());
      bitmaps.push_back(owned.back().get());
    }
    mtmd_input_text text{prompt.c_str(), prompt.size(), add_special, true};
    out.reset(mtmd_input_chunks_init());
    const int32_t rc = mtmd_tokenize(mctx, out.get(), &text, bitmaps.data(), bitmaps.size());
    if (rc == 1) return "the prompt's image markers do not match the number of images";
    if (rc != 0) return with_native_errors("tokenizing the prompt failed (code " + std::to_string(rc) + ")");
    return "";
  }

  // Plain text to tokens, special tokens not parsed.
  std::vector<llama_token> tokenize_plain(const std::string & text) {
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::vector<llama_token> toks(text.size() + 8);
    int n = llama_tokenize(vocab, text.c_str(), text.size(), toks.data(), toks.size(), false, false);
    if (n < 0) {
      toks.resize(-n);
      n = llama_tokenize(vocab, text.c_str(), text.size(), toks.data(), toks.size(), false, false);
    }
    toks.resize(n < 0 ? 0 : n);
    return toks;
  }

  // The parts of a prompt to segments; the images go, in order, to the media markers of the special parts.
  // `prompt_start` false: the parts continue a prompt (a batch's suffix), so nothing is added at their start.
  std::string tokenize_parts(const std::vector<PromptPart> & parts, const std::vector<ImageInput> & images,
                             std::vector<Segment> & out, bool prompt_start = true) {
    const std::string marker = mtmd_default_marker();
    size_t next_image = 0;
    for (size_t i = 0; i < parts.size(); i++) {
      Segment seg;
      if (parts[i].special) {
        const size_t n = count_occurrences(parts[i].text, marker);
        if (next_image + n > images.size()) return "the prompt's image markers do not match the number of images";
        std::string err = tokenize_chunks(parts[i].text, images.data() + next_image, n, seg.chunks, prompt_start && i == 0);
        if (!err.empty()) return err;
        next_image += n;
      } else {
        seg.tokens = tokenize_plain(parts[i].text);
      }
      out.push_back(std::move(seg));
    }
    if (next_image != images.size()) return "the prompt's image markers do not match the number of images";
    return "";
  }

  static size_t n_tokens_of(const std::vector<Segment> & segments) {
    size_t n = 0;
    for (const auto & s : segments) n += s.chunks ? mtmd_helper_get_n_tokens(s.chunks.get()) : s.tokens.size();
    return n;
  }

  // Plain tokens of one sequence at positions n_past...; logits for the last one when asked (as mtmd's helper does for
  // text chunks).
  int32_t decode_tokens(const std::vector<llama_token> & tokens, bool logits_last, llama_pos & n_past, llama_seq_id seq = 0) {
    Batch owner(n_batch);
    llama_batch & batch = owner.b;
    int32_t rc = 0;
    for (size_t i = 0; i < tokens.size() && rc == 0;) {
      batch.n_tokens = 0;
      for (; i < tokens.size() && batch.n_tokens < n_batch; i++) {
        const int32_t j = batch.n_tokens++;
        batch.token[j] = tokens[i];
        batch.pos[j] = n_past++;
        batch.n_seq_id[j] = 1;
        batch.seq_id[j][0] = seq;
        batch.logits[j] = logits_last && i + 1 == tokens.size();
      }
      rc = llama_decode(ctx, batch);
    }
    return rc;
  }

  // A prompt as llama.cpp evaluates it: runs of text tokens (template text and user text alike, between two images)
  // and image chunks. Each text run goes in as few llama_decode calls as possible: each call reads every weight once,
  // and a short text prompt is bound by those reads.
  struct Run {
    std::vector<llama_token> tokens;
    const mtmd_input_chunk * image = nullptr;
  };
  static std::vector<Run> runs_of(const std::vector<Segment> & segments) {
    std::vector<Run> runs;
    auto text_run = [&]() -> std::vector<llama_token> & {
      if (runs.empty() || runs.back().image) runs.emplace_back();
      return runs.back().tokens;
    };
    for (const auto & seg : segments) {
      if (!seg.chunks) {
        text_run().insert(text_run().end(), seg.tokens.begin(), seg.tokens.end());
        continue;
      }
      for (size_t i = 0; i < mtmd_input_chunks_size(seg.chunks.get()); i++) {
        const mtmd_input_chunk * chunk = mtmd_input_chunks_get(seg.chunks.get(), i);
        if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_IMAGE) {
          runs.push_back({{}, chunk});
        } else {
          size_t n = 0;
          const llama_token * toks = mtmd_input_chunk_get_tokens_text(chunk, &n);
          text_run().insert(text_run().end(), toks, toks + n);
        }
      }
    }
    return runs;
  }

  // The call's failure is a context overflow (JS: err.code 'context_overflow'); the message says by how much.
  std::string overflow(size_t n_tokens, size_t reserve) {
    error_code = "context_overflow";
    return "the prompt is " + std::to_string(n_tokens) + " tokens" +
           (reserve ? " plus " + std::to_string(reserve) + " to generate" : "") + ", the context holds " +
           std::to_string(llama_n_ctx(ctx));
  }
  std::string decode_failed() const { return cancelled ? "cancelled" : with_native_errors("evaluating the prompt failed"); }

  // An image chunk into sequence `seq` at n_past (its vision output from the cache when this image was seen lately).
  std::string decode_image(const mtmd_input_chunk * chunk, llama_seq_id seq, llama_pos & n_past, bool remember = true) {
    float * embd = image_embedding(chunk, remember);
    if (!embd) return with_native_errors("image encoding failed");
    if (mtmd_helper_decode_image_chunk(mctx, ctx, chunk, embd, n_past, seq, n_batch, &n_past, nullptr, nullptr) != 0)
      return decode_failed();
    return "";
  }

  // Clears the KV cache, evaluates the segments into sequence 0; returns an error message or "", and the position after
  // the prompt. Logits (or the pooled output) are those of the prompt's last token when it is text.
  std::string eval_prompt(const std::vector<Segment> & segments, size_t reserve, llama_pos & n_past) {
    const size_t n_tokens = n_tokens_of(segments);
    if (n_tokens + reserve > llama_n_ctx(ctx)) return overflow(n_tokens, reserve);
    return eval_runs(runs_of(segments), n_past);
  }
  std::string eval_runs(const std::vector<Run> & runs, llama_pos & n_past) {
    llama_memory_clear(llama_get_memory(ctx), true);
    n_past = 0;
    for (size_t r = 0; r < runs.size(); r++) {
      if (runs[r].image) {
        std::string err = decode_image(runs[r].image, 0, n_past);
        if (!err.empty()) return err;
      } else if (decode_tokens(runs[r].tokens, r + 1 == runs.size(), n_past) != 0) {
        return decode_failed();
      }
    }
    return "";
  }

 private:
  Napi::Value load(const Napi::CallbackInfo & info);
  Napi::Value info(const Napi::CallbackInfo & info);
  Napi::Value applyTemplate(const Napi::CallbackInfo & info);
  Napi::Value tokenize(const Napi::CallbackInfo & info);
  Napi::Value score(const Napi::CallbackInfo & info);
  Napi::Value scoreBatch(const Napi::CallbackInfo & info);
  Napi::Value generate(const Napi::CallbackInfo & info);
  Napi::Value embed(const Napi::CallbackInfo & info);
  Napi::Value embedPrompt(const Napi::CallbackInfo & info);
  Napi::Value cancel(const Napi::CallbackInfo & info) {
    cancelled = true;
    return info.Env().Undefined();
  }
  Napi::Value dispose(const Napi::CallbackInfo & info) {
    check_idle(info.Env(), false);
    release();
    return info.Env().Undefined();
  }
  template <Napi::Value (VlModel::*M)(const Napi::CallbackInfo &)>
  Napi::Value guarded(const Napi::CallbackInfo & info) {
    return guard_sync(info.Env(), [&] { return (this->*M)(info); });
  }

 public:
  void check_idle(Napi::Env env, bool must_be_loaded) {
    if (busy) throw Napi::Error::New(env, "VlModel is busy: calls must be serialized");
    if (must_be_loaded && (ctx == nullptr || mctx == nullptr)) throw Napi::Error::New(env, "VlModel is not loaded or was disposed");
  }
};

std::vector<ImageInput> read_images(Napi::Env env, const Napi::Value & v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "images must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<ImageInput> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    ImageInput img;
    img.width = o.Get("width").ToNumber().Uint32Value();
    img.height = o.Get("height").ToNumber().Uint32Value();
    Napi::Value rgb = o.Get("rgb");
    if (!rgb.IsTypedArray() || rgb.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "image.rgb must be a Uint8Array");
    Napi::Uint8Array a = rgb.As<Napi::Uint8Array>();
    if (img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384 ||
        a.ByteLength() != static_cast<size_t>(img.width) * img.height * 3)
      throw Napi::RangeError::New(env, "bad image size");
    img.rgb.assign(a.Data(), a.Data() + a.ByteLength());  // copied now: workers never touch JS memory
    Napi::Value id = o.Get("id");
    if (id.IsString()) img.id = id.As<Napi::String>().Utf8Value();
    out.push_back(std::move(img));
  }
  return out;
}

std::vector<PromptPart> read_parts(Napi::Env env, const Napi::Value & v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "prompt must be an array of { text, special } parts");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<PromptPart> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    out.push_back({o.Get("text").ToString().Utf8Value(), o.Get("special").ToBoolean()});
  }
  if (out.empty()) throw Napi::RangeError::New(env, "the prompt is empty");
  return out;
}

// Base of the workers that run on a loaded model: marks it busy, keeps the JS object alive, clears the cancel flag.
class ModelWorker : public PromiseWorker {
 public:
  ModelWorker(Napi::Env env, const char * name, VlModel * m, Napi::Object self)
      : PromiseWorker(env, name), m(m), self(Napi::Persistent(self)) {
    m->busy = true;
    m->cancelled = false;
    m->error_code = nullptr;
  }

 protected:
  void finished() override { m->busy = false; }
  const char * error_code() const override { return code ? code : m->failure_code(); }
  // A failure whose message says what went wrong, with the code the model set (context_overflow) or native_error.
  void fail(const std::string & message) { PromiseWorker::fail(m->failure_code(), message); }
  VlModel * m;
  Napi::ObjectReference self;
};

class LoadWorker : public ModelWorker {
 public:
  // Everything load() reads from its JS options, copied before the work is queued.
  struct Options {
    std::string lora_path;
    float lora_scale = 1;
    int n_ctx = 4096, n_threads = 1, min_tokens = 64, max_tokens = 256;
    int gpu_layers = 0;  // text layers on the GPU; negative: all
    int max_batch = 1;  // scoreBatch's candidates side by side
    bool use_gpu = false;  // the vision tower on the GPU
    std::string flash_attn = "auto";  // the vision tower's flash attention: auto | on | off (the policy is JS's)
    // generate: logits (describe, yes/no); embed: the last token's hidden state after the final norm (an embedding
    // model); rank: the classifier head on the last token (a reranker GGUF: pooling RANK, cls_out)
    std::string mode = "generate";
  };
  LoadWorker(Napi::Env env, VlModel * m, Napi::Object self, std::string text_path, std::string mmproj_path, Options o)
      : ModelWorker(env, "lookalike.VlModel.load", m, self), text_path(std::move(text_path)),
        mmproj_path(std::move(mmproj_path)), o(std::move(o)) {}

  // What a load made and did not hand to the model (it failed, or threw, half-way).
  ~LoadWorker() override { free_handles(model, ctx, mctx, lora); }

  void run() override {
    ensure_backends_loaded();
    take_native_errors();
    LogCapture capture;
    load(capture);
  }

  void load(LogCapture & capture) {
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = o.gpu_layers;  // the KV cache of a layer stays on the layer's device (offload_kqv)
    model = llama_model_load_from_file(text_path.c_str(), mp);
    if (!model) return fail("failed to load the text model from " + text_path);
    if (!o.lora_path.empty()) {
      lora = llama_adapter_lora_init(model, o.lora_path.c_str());
      if (!lora) return fail("failed to load the LoRA adapter " + o.lora_path + " for this text model");
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = o.n_ctx;
    cp.n_batch = m->n_batch;
    cp.n_ubatch = m->n_batch;
    cp.n_threads = o.n_threads;
    cp.n_threads_batch = o.n_threads;
    cp.no_perf = true;
    // scoreBatch: the shared prefix in sequence 0, up to max_batch candidates in sequences 1..max_batch. One unified
    // KV cache: every sequence may use the whole context (not n_ctx / n_seq_max each), and the prefix copied into
    // the candidates' sequences is stored once (llama_memory_seq_cp only adds the sequence id to its cells).
    m->max_batch = static_cast<uint32_t>(o.max_batch);
    cp.n_seq_max = m->max_batch + 1;
    cp.kv_unified = true;
    if (o.mode != "generate") {
      cp.embeddings = true;
      // embed: no pooling, the last token of the prompt is its only output, read with llama_get_embeddings_ith(-1);
      // for a causal model that is exactly pooling LAST, and it holds when the prompt is decoded in several calls
      cp.pooling_type = o.mode == "rank" ? LLAMA_POOLING_TYPE_RANK : LLAMA_POOLING_TYPE_NONE;
    }
    ctx = llama_init_from_model(model, cp);
    if (!ctx) return fail("failed to create a context for the text model");
    if (lora) {
      float scale = o.lora_scale;
      if (llama_set_adapters_lora(ctx, &lora, 1, &scale) != 0) return fail("failed to apply the LoRA adapter");
    }
    mtmd_context_params mtp = mtmd_context_params_default();
    mtp.use_gpu = o.use_gpu;
    mtp.flash_attn_type = o.flash_attn == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED : o.flash_attn == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    mtp.n_threads = o.n_threads;
    mtp.print_timings = false;
    mtp.warmup = false;  // Qwen-VL's warm-up sizes buffers for ~2116 tokens: minutes on a CPU
    mtp.image_min_tokens = o.min_tokens;
    mtp.image_max_tokens = o.max_tokens;
    mctx = mtmd_init_from_file(mmproj_path.c_str(), model, mtp);
    if (!mctx) return fail("failed to load the mmproj " + mmproj_path + " with this text model");
    llama_set_abort_callback(ctx, [](void * data) { return static_cast<VlModel *>(data)->cancelled.load(); }, m);
    log = capture.text;
    // where the vision tower is: the same parameters, allocation only simulated (the mtmd context keeps its clip
    // context private)
    vision_device = device_of(mtmd_get_memory_usage(mmproj_path.c_str(), mtp));
    layers_on_gpu = count_layers_on_gpu(mp.n_gpu_layers);
  }

  // Text layers on a GPU. libllama has no public per-layer placement; its documented rule is: n_gpu_layers of the
  // model's layers (negative: all) go to the GPU devices registered, none when there is none. The output layer,
  // which libllama counts in its log line, is not a text layer.
  int32_t count_layers_on_gpu(int32_t n_gpu_layers) const {
    bool gpu = false;
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
      const auto type = ggml_backend_dev_type(ggml_backend_dev_get(i));
      gpu = gpu || type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU;
    }
    const int32_t n_layer = llama_model_n_layer(model);
    return !gpu ? 0 : n_gpu_layers < 0 ? n_layer : std::min(n_gpu_layers, n_layer);
  }

  void resolve() override {
    m->model = std::exchange(model, nullptr);
    m->ctx = std::exchange(ctx, nullptr);
    m->mctx = std::exchange(mctx, nullptr);
    m->lora = std::exchange(lora, nullptr);
    m->load_log = std::move(log);
    m->vision_device = vision_device;
    m->layers_on_gpu = layers_on_gpu;
    m->mode = o.mode;
    deferred.Resolve(Env().Undefined());
  }

 private:
  void fail(const std::string & what) {
    free_handles(model, ctx, mctx, lora);
    ModelWorker::fail(with_native_errors(what));
  }
  std::string text_path, mmproj_path, log, vision_device;
  int32_t layers_on_gpu = 0;
  Options o;
  llama_model * model = nullptr;
  llama_context * ctx = nullptr;
  mtmd_context * mctx = nullptr;
  llama_adapter_lora * lora = nullptr;
};

// Evaluates a prompt, then reads floats off the model's state (read()); resolves { <key>: Float32Array, nPromptTokens }.
class PromptReadWorker : public ModelWorker {
 public:
  PromptReadWorker(Napi::Env env, const char * name, VlModel * m, Napi::Object self, std::vector<PromptPart> parts,
                   std::vector<ImageInput> images, const char * key)
      : ModelWorker(env, name, m, self), parts(std::move(parts)), images(std::move(images)), key(key) {}

  void run() override {
    take_native_errors();
    std::vector<Segment> segments;
    std::string err = m->tokenize_parts(parts, images, segments);
    llama_pos n_past = 0;
    if (err.empty()) err = m->eval_prompt(segments, 0, n_past);
    if (err.empty()) err = read();
    if (!err.empty()) return fail(err);
    n_prompt = VlModel::n_tokens_of(segments);
  }
  void resolve() override {
    Napi::Env env = Env();
    Napi::Float32Array data = Napi::Float32Array::New(env, out.size());
    std::memcpy(data.Data(), out.data(), out.size() * sizeof(float));
    Napi::Object o = Napi::Object::New(env);
    o.Set(key, data);
    o.Set("nPromptTokens", static_cast<double>(n_prompt));
    deferred.Resolve(o);
  }

 protected:
  virtual std::string read() = 0;  // fills `out` from the model's state after the prompt; an error message or ""
  std::vector<float> out;

 private:
  std::vector<PromptPart> parts;
  std::vector<ImageInput> images;
  const char * key;
  size_t n_prompt = 0;
};

// score(prompt, images, tokenIds) -> { logits: Float32Array (one per token id), nPromptTokens }
class ScoreWorker : public PromptReadWorker {
 public:
  ScoreWorker(Napi::Env env, VlModel * m, Napi::Object self, std::vector<PromptPart> parts, std::vector<ImageInput> images,
              std::vector<llama_token> tokens)
      : PromptReadWorker(env, "lookalike.VlModel.score", m, self, std::move(parts), std::move(images), "logits"), tokens(std::move(tokens)) {}

 private:
  std::string read() override {
    const float * logits = llama_get_logits_ith(m->ctx, -1);
    if (!logits) return with_native_errors("no logits after the prompt");
    for (llama_token t : tokens) out.push_back(logits[t]);
    return "";
  }
  std::vector<llama_token> tokens;
};

// scoreBatch(prefix, prefixImages, [{ prompt, images }], tokenIds) -> { outputs: Float32Array[], nPromptTokens: number[] }
// Scores several prompts that share their start (a re-rank: the query, then each candidate). The prefix is evaluated
// once into sequence 0 and copied (llama_memory_seq_cp) into sequences 1..max_batch, one per candidate; each suffix
// is decoded in its own sequence. Text tokens of all sequences go into shared llama_decode calls; image chunks are
// decoded one sequence at a time (mtmd's helper takes one sequence, and Qwen3-VL's vision tower encodes one image per
// call). More candidates than max_batch, or than the context holds beside the prefix, go in turns. Each output is what
// score() (generate mode: the logits of tokenIds) or embedPrompt() (rank mode: the classifier's outputs) gives for
// the whole prompt.
class ScoreBatchWorker : public ModelWorker {
 public:
  struct Suffix {
    std::vector<PromptPart> parts;
    std::vector<ImageInput> images;
  };
  ScoreBatchWorker(Napi::Env env, VlModel * m, Napi::Object self, std::vector<PromptPart> prefix,
                   std::vector<ImageInput> prefix_images, std::vector<Suffix> suffixes, std::vector<llama_token> tokens)
      : ModelWorker(env, "lookalike.VlModel.scoreBatch", m, self), prefix(std::move(prefix)),
        prefix_images(std::move(prefix_images)), suffixes(std::move(suffixes)), tokens(std::move(tokens)) {}

  void run() override {
    take_native_errors();
    std::string err = score_all();
    if (!err.empty()) fail(err);
  }
  void resolve() override {
    Napi::Env env = Env();
    Napi::Array arr = Napi::Array::New(env, outputs.size());
    Napi::Array counts = Napi::Array::New(env, outputs.size());
    for (uint32_t i = 0; i < outputs.size(); i++) {
      Napi::Float32Array a = Napi::Float32Array::New(env, outputs[i].size());
      std::memcpy(a.Data(), outputs[i].data(), outputs[i].size() * sizeof(float));
      arr.Set(i, a);
      counts.Set(i, static_cast<double>(n_prompt[i]));
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("outputs", arr);
    o.Set("nPromptTokens", counts);
    deferred.Resolve(o);
  }

 private:
  static llama_seq_id seq_of(size_t c) { return static_cast<llama_seq_id>(c + 1); }

  std::string score_all() {
    std::vector<Segment> prefix_segs;
    std::string err = m->tokenize_parts(prefix, prefix_images, prefix_segs);
    if (!err.empty()) return err;
    const size_t n = suffixes.size(), n_prefix = VlModel::n_tokens_of(prefix_segs), n_ctx = llama_n_ctx(m->ctx);
    std::vector<std::vector<Segment>> segs(n);
    std::vector<std::vector<VlModel::Run>> runs(n);
    for (size_t i = 0; i < n; i++) {
      err = m->tokenize_parts(suffixes[i].parts, suffixes[i].images, segs[i], false);
      if (!err.empty()) return err;
      runs[i] = VlModel::runs_of(segs[i]);
      if (runs[i].empty() || runs[i].back().image) return "each suffix must end with text: its last token is the one scored";
      n_prompt.push_back(n_prefix + VlModel::n_tokens_of(segs[i]));
      if (n_prompt[i] > n_ctx) return m->overflow(n_prompt[i], 0);
    }
    // Text that starts every suffix (the image's opening token) joins the prefix: the prefix then ends where a single
    // prompt's text run ends, so it is decoded in the same llama_decode calls as score() would.
    std::vector<VlModel::Run> prefix_runs = VlModel::runs_of(prefix_segs);
    const bool common_start = std::all_of(runs.begin(), runs.end(), [&](const auto & r) {
      return !r.front().image && r.front().tokens == runs[0].front().tokens && r.size() > 1;
    });
    if (common_start) {
      if (prefix_runs.empty() || prefix_runs.back().image) prefix_runs.emplace_back();
      auto & tail = prefix_runs.back().tokens;
      tail.insert(tail.end(), runs[0].front().tokens.begin(), runs[0].front().tokens.end());
      for (auto & r : runs) r.erase(r.begin());
    }
    llama_pos prefix_pos = 0;
    if (n_prefix > n_ctx) return m->overflow(n_prefix, 0);
    err = m->eval_runs(prefix_runs, prefix_pos);
    if (!err.empty()) return err;
    outputs.resize(n);
    llama_memory_t mem = llama_get_memory(m->ctx);
    for (size_t first = 0; first < n;) {
      // as many candidates as there are sequences and as fit beside the prefix (each fits alone: checked above)
      size_t last = first, used = n_prefix;
      while (last < n && last - first < m->max_batch && used + n_prompt[last] - n_prefix <= n_ctx) used += n_prompt[last++] - n_prefix;
      for (size_t c = 0; c < last - first; c++) llama_memory_seq_cp(mem, 0, seq_of(c), -1, -1);
      err = decode_group(runs, first, last, prefix_pos);
      for (size_t c = 0; c < last - first; c++) llama_memory_seq_rm(mem, seq_of(c), -1, -1);  // the prefix stays in 0
      if (!err.empty()) return err;
      first = last;
    }
    return "";
  }

  // Suffixes first..last-1 in sequences 1..: each sequence's images as they come, then the text runs due in every
  // sequence side by side, until all are done; the output of a suffix is read after the call holding its last token.
  std::string decode_group(const std::vector<std::vector<VlModel::Run>> & runs, size_t first, size_t last, llama_pos prefix_pos) {
    const size_t k = last - first;
    std::vector<size_t> next(k, 0);
    std::vector<llama_pos> pos(k, prefix_pos);
    struct Item {
      size_t c;
      llama_token token;
      bool last;
    };
    Batch batch_owner(m->n_batch);
    llama_batch & batch = batch_owner.b;
    std::vector<size_t> owner(m->n_batch);
    std::string err;
    while (err.empty()) {
      std::vector<Item> items;
      for (size_t c = 0; c < k && err.empty(); c++) {
        const auto & r = runs[first + c];
        for (; next[c] < r.size() && r[next[c]].image && err.empty(); next[c]++)
          err = m->decode_image(r[next[c]].image, seq_of(c), pos[c], false);
        if (err.empty() && next[c] < r.size()) {
          const auto & toks = r[next[c]].tokens;
          const bool final_run = ++next[c] == r.size();
          for (size_t t = 0; t < toks.size(); t++) items.push_back({c, toks[t], final_run && t + 1 == toks.size()});
        }
      }
      if (!err.empty() || items.empty()) break;
      for (size_t i = 0; i < items.size() && err.empty();) {
        batch.n_tokens = 0;
        for (; i < items.size() && batch.n_tokens < m->n_batch; i++) {
          const int32_t j = batch.n_tokens++;
          owner[j] = items[i].c;
          batch.token[j] = items[i].token;
          batch.pos[j] = pos[items[i].c]++;
          batch.n_seq_id[j] = 1;
          batch.seq_id[j][0] = seq_of(items[i].c);
          batch.logits[j] = items[i].last;
        }
        if (llama_decode(m->ctx, batch) != 0) err = m->decode_failed();
        for (int32_t j = 0; j < batch.n_tokens && err.empty(); j++)
          if (batch.logits[j]) err = read(j, seq_of(owner[j]), outputs[first + owner[j]]);
      }
    }
    return err;
  }

  // A suffix's output, right after the llama_decode that held its last token (at index j of that call's batch).
  std::string read(int32_t j, llama_seq_id seq, std::vector<float> & out) {
    if (m->mode == "rank") {
      const float * v = llama_get_embeddings_seq(m->ctx, seq);
      if (!v) return with_native_errors("the model gave no classifier output for a candidate");
      out.assign(v, v + llama_model_n_cls_out(m->model));
      return "";
    }
    const float * logits = llama_get_logits_ith(m->ctx, j);
    if (!logits) return with_native_errors("no logits after a candidate's prompt");
    for (llama_token t : tokens) out.push_back(logits[t]);
    return "";
  }

  std::vector<PromptPart> prefix;
  std::vector<ImageInput> prefix_images;
  std::vector<Suffix> suffixes;
  std::vector<llama_token> tokens;
  std::vector<std::vector<float>> outputs;
  std::vector<size_t> n_prompt;
};

// generate(prompt, images, { maxTokens, temperature, seed }, onText) -> { text, nTokens, nPromptTokens, stop }
class GenerateWorker : public Napi::AsyncProgressQueueWorker<char> {
 public:
  GenerateWorker(Napi::Env env, VlModel * m, Napi::Object self, Napi::Function on_text, std::vector<PromptPart> parts,
                 std::vector<ImageInput> images, int max_tokens, float temperature, uint32_t seed)
      : Napi::AsyncProgressQueueWorker<char>(env, "lookalike.VlModel.generate"),
        deferred(Napi::Promise::Deferred::New(env)), m(m), self(Napi::Persistent(self)),
        on_text(Napi::Persistent(on_text)), parts(std::move(parts)), images(std::move(images)),
        max_tokens(max_tokens), temperature(temperature), seed(seed) {
    m->busy = true;
    m->cancelled = false;
    m->error_code = nullptr;
  }
  Napi::Promise promise() { return deferred.Promise(); }

  void Execute(const ExecutionProgress & progress) override {
    if (auto f = catch_native([&] { generate(progress); })) {
      code = f->code;
      SetError(f->message);
    }
  }

  // A throwing onText stops the generation and rejects the call (left to N-API, its exception would reach the
  // process as an uncaught one); the text queued after it is not passed on.
  void OnProgress(const char * data, size_t count) override {
    if (callback_threw) return;
    Napi::HandleScope scope(Env());
    try {
      on_text.Call({Napi::String::New(Env(), data, count)});
    } catch (const Napi::Error & e) {
      callback_threw = true;
      m->cancelled = true;
      Napi::Value thrown = e.Value();
      if (thrown.IsObject()) callback_error = Napi::Persistent(thrown.As<Napi::Object>());
    }
  }
  void OnOK() override {
    m->busy = false;
    if (callback_threw) return reject_for_callback();
    Napi::Env env = Env();
    try {
      Napi::Object o = Napi::Object::New(env);
      o.Set("text", Napi::String::New(env, text));
      o.Set("nTokens", n_generated);
      o.Set("nPromptTokens", static_cast<double>(n_prompt));
      o.Set("stop", stop);
      deferred.Resolve(o);
    } catch (const Napi::Error & e) {
      deferred.Reject(with_code(e, "native_error"));
    }
  }
  void OnError(const Napi::Error & e) override {
    m->busy = false;
    if (callback_threw) return reject_for_callback();
    deferred.Reject(with_code(e, code ? code : m->failure_code()));
  }

 private:
  void generate(const ExecutionProgress & progress) {
    take_native_errors();
    std::vector<Segment> segments;
    std::string err = m->tokenize_parts(parts, images, segments);
    llama_pos n_past = 0;
    if (err.empty()) err = m->eval_prompt(segments, max_tokens, n_past);
    if (err == "cancelled") {
      stop = "cancelled";
      return;
    }
    if (!err.empty()) return SetError(err);
    n_prompt = VlModel::n_tokens_of(segments);

    SamplerPtr smpl(llama_sampler_chain_init(llama_sampler_chain_default_params()));
    if (temperature <= 0) {
      llama_sampler_chain_add(smpl.get(), llama_sampler_init_greedy());
    } else {
      // the temperature first, as transformers applies it: top-p over the untempered probabilities kept only the
      // likeliest token whenever it had 95% of the mass, and then no temperature or seed changed a thing
      llama_sampler_chain_add(smpl.get(), llama_sampler_init_temp(temperature));
      llama_sampler_chain_add(smpl.get(), llama_sampler_init_top_k(40));
      llama_sampler_chain_add(smpl.get(), llama_sampler_init_top_p(0.95f, 1));
      llama_sampler_chain_add(smpl.get(), llama_sampler_init_dist(seed));
    }
    const llama_vocab * vocab = llama_model_get_vocab(m->model);
    Batch owner(1);
    llama_batch & batch = owner.b;
    std::string pending;
    stop = "length";
    for (int i = 0; i < max_tokens; i++) {
      if (m->cancelled) {
        stop = "cancelled";
        break;
      }
      llama_token tok = llama_sampler_sample(smpl.get(), m->ctx, -1);
      if (llama_vocab_is_eog(vocab, tok)) {
        stop = "eos";
        break;
      }
      n_generated++;
      char buf[256];
      int n = llama_token_to_piece(vocab, tok, buf, sizeof buf, 0, false);
      if (n > 0) pending.append(buf, n);
      size_t complete = utf8_complete(pending);
      if (complete > 0) {
        progress.Send(pending.data(), complete);
        text.append(pending, 0, complete);
        pending.erase(0, complete);
      }
      batch.n_tokens = 1;
      batch.token[0] = tok;
      batch.pos[0] = n_past++;  // M-RoPE: positions continue from what the prompt evaluation returned
      batch.n_seq_id[0] = 1;
      batch.seq_id[0][0] = 0;
      batch.logits[0] = true;
      if (llama_decode(m->ctx, batch) != 0) {
        if (m->cancelled) {
          stop = "cancelled";
        } else {
          SetError(with_native_errors("decoding failed"));
        }
        break;
      }
    }
    if (!pending.empty()) {
      progress.Send(pending.data(), pending.size());
      text += pending;
    }
  }

  // The onText callback threw: the call fails with code callback_failed, what it threw (an object) as the cause.
  void reject_for_callback() {
    Napi::Error err = coded_error(Env(), "callback_failed", "the onText callback threw");
    if (!callback_error.IsEmpty()) {
      Napi::Object thrown = callback_error.Value();
      Napi::Value message = thrown.Get("message");
      if (message.IsString()) {
        const std::string what = message.As<Napi::String>().Utf8Value();
        err = coded_error(Env(), "callback_failed", "the onText callback threw: " + what);
      }
      err.Set("cause", thrown);
    }
    deferred.Reject(err.Value());
  }

  Napi::Promise::Deferred deferred;
  VlModel * m;
  Napi::ObjectReference self;
  Napi::FunctionReference on_text;
  bool callback_threw = false;
  Napi::ObjectReference callback_error;  // what onText threw, when it was an object
  const char * code = nullptr;                  // a C++ exception's code (out_of_memory, native_error)
  std::vector<PromptPart> parts;
  std::vector<ImageInput> images;
  int max_tokens;
  float temperature;
  uint32_t seed;
  std::string text, stop;
  int n_generated = 0;
  size_t n_prompt = 0;
};

// embed(image) -> { data: Float32Array (nTokens x width), nTokens }: the vision tower only, via mtmd.
class EmbedWorker : public ModelWorker {
 public:
  EmbedWorker(Napi::Env env, VlModel * m, Napi::Object self, std::vector<ImageInput> images)
      : ModelWorker(env, "lookalike.VlModel.embed", m, self), images(std::move(images)) {}

  void run() override {
    take_native_errors();
    ChunksPtr chunks;
    std::string err = m->tokenize_chunks(mtmd_default_marker(), images.data(), images.size(), chunks, false);
    if (!err.empty()) return fail(err);
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks.get()); i++) {
      const mtmd_input_chunk * chunk = mtmd_input_chunks_get(chunks.get(), i);
      if (mtmd_input_chunk_get_type(chunk) != MTMD_INPUT_CHUNK_TYPE_IMAGE) continue;
      if (mtmd_encode_chunk(m->mctx, chunk) != 0) return fail(with_native_errors("image encoding failed"));
      n_tokens = mtmd_input_chunk_get_n_tokens(chunk);
      const size_t width = llama_model_n_embd_inp(m->model);
      const float * embd = mtmd_get_output_embd(m->mctx);
      out = std::make_unique<std::vector<float>>(embd, embd + n_tokens * width);
      return;
    }
    fail("the prompt produced no image chunk");
  }
  void resolve() override {
    Napi::Env env = Env();
    std::vector<float> * data = out.get();
    auto buffer = Napi::ArrayBuffer::New(env, data->data(), data->size() * sizeof(float),
                                         [](Napi::Env, void *, std::vector<float> * v) { delete v; }, data);
    out.release();  // the ArrayBuffer owns it now
    Napi::Object o = Napi::Object::New(env);
    o.Set("data", Napi::Float32Array::New(env, data->size(), buffer, 0));
    o.Set("nTokens", static_cast<double>(n_tokens));
    deferred.Resolve(o);
  }

 private:
  std::vector<ImageInput> images;
  std::unique_ptr<std::vector<float>> out;
  size_t n_tokens = 0;
};

// embedPrompt(parts, images) -> { data, nPromptTokens }: an embed-mode model's last hidden state (n_embd floats), or a
// rank-mode model's classifier outputs (n_cls_out floats, e.g. the yes and no of a reranker).
class EmbedPromptWorker : public PromptReadWorker {
 public:
  EmbedPromptWorker(Napi::Env env, VlModel * m, Napi::Object self, std::vector<PromptPart> parts, std::vector<ImageInput> images)
      : PromptReadWorker(env, "lookalike.VlModel.embedPrompt", m, self, std::move(parts), std::move(images), "data") {}

 private:
  std::string read() override {
    const bool rank = m->mode == "rank";
    const float * v = rank ? llama_get_embeddings_seq(m->ctx, 0) : llama_get_embeddings_ith(m->ctx, -1);
    if (!v) return with_native_errors("the model gave no embedding for the prompt");
    const size_t n = rank ? llama_model_n_cls_out(m->model) : llama_model_n_embd(m->model);
    out.assign(v, v + n);
    return "";
  }
};

// load(textPath, mmprojPath, { loraPath, loraScale, nCtx, threads, minTokens, maxTokens, gpuLayers, useGpu }) -> Promise<void>
Napi::Value VlModel::load(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, false);
  if (model) throw Napi::Error::New(env, "VlModel is already loaded");
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "load(textPath: string, mmprojPath: string, options: object)");
  Napi::Object o = info[2].As<Napi::Object>();
  Napi::Value lora = o.Get("loraPath");
  LoadWorker::Options opts;
  opts.lora_path = lora.IsString() ? lora.As<Napi::String>().Utf8Value() : "";
  opts.lora_scale = o.Get("loraScale").ToNumber().FloatValue();
  opts.n_ctx = o.Get("nCtx").ToNumber().Int32Value();
  opts.n_threads = o.Get("threads").ToNumber().Int32Value();
  opts.min_tokens = o.Get("minTokens").ToNumber().Int32Value();
  opts.max_tokens = o.Get("maxTokens").ToNumber().Int32Value();
  opts.gpu_layers = o.Get("gpuLayers").ToNumber().Int32Value();
  opts.max_batch = o.Get("maxBatch").ToNumber().Int32Value();
  if (opts.max_batch < 1 || opts.max_batch > 64) throw Napi::RangeError::New(env, "maxBatch must be 1 to 64");
  opts.use_gpu = o.Get("useGpu").ToBoolean();
  if (o.Get("flashAttn").IsString()) opts.flash_attn = o.Get("flashAttn").ToString().Utf8Value();
  if (o.Get("mode").IsString()) opts.mode = o.Get("mode").ToString().Utf8Value();
  if (opts.mode != "generate" && opts.mode != "embed" && opts.mode != "rank")
    throw Napi::RangeError::New(env, "mode must be generate, embed or rank");
  auto * w = new LoadWorker(env, this, info.This().As<Napi::Object>(), info[0].As<Napi::String>(),
                            info[1].As<Napi::String>(), std::move(opts));
  w->Queue();
  return w->promise();
}

Napi::Value VlModel::info(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  Napi::Object o = Napi::Object::New(env);
  o.Set("nEmbd", llama_model_n_embd(model));
  o.Set("nEmbdInp", llama_model_n_embd_inp(model));
  o.Set("nLayer", llama_model_n_layer(model));
  o.Set("nCtx", llama_n_ctx(ctx));
  o.Set("nVocab", llama_vocab_n_tokens(llama_model_get_vocab(model)));
  const char * tmpl = llama_model_chat_template(model, nullptr);
  o.Set("chatTemplate", tmpl ? Napi::Value(Napi::String::New(env, tmpl)) : env.Null());
  o.Set("marker", mtmd_default_marker());
  o.Set("usesMrope", mtmd_decode_use_mrope(mctx));
  o.Set("loadLog", load_log);
  o.Set("visionDevice", vision_device);
  o.Set("layersOnGpu", layers_on_gpu);
  o.Set("nClsOut", llama_model_n_cls_out(model));
  o.Set("mode", mode);
  return o;
}

// applyTemplate([{ role, content }], addAssistant) -> string, with the model's own chat template
Napi::Value VlModel::applyTemplate(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> roles, contents;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object msg = arr.Get(i).As<Napi::Object>();
    roles.push_back(msg.Get("role").ToString());
    contents.push_back(msg.Get("content").ToString());
  }
  std::vector<llama_chat_message> msgs;
  for (size_t i = 0; i < roles.size(); i++) msgs.push_back({roles[i].c_str(), contents[i].c_str()});
  const char * tmpl = llama_model_chat_template(model, nullptr);
  std::vector<char> buf(4096);
  int32_t n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), info[1].ToBoolean(), buf.data(), buf.size());
  if (n > static_cast<int32_t>(buf.size())) {
    buf.resize(n);
    n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), info[1].ToBoolean(), buf.data(), buf.size());
  }
  if (n < 0) throw Napi::Error::New(env, "the model's chat template is not supported by llama.cpp");
  return Napi::String::New(env, buf.data(), n);
}

// tokenize(text, parseSpecial) -> Int32Array, nothing added
Napi::Value VlModel::tokenize(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  std::string text = info[0].ToString();
  const llama_vocab * vocab = llama_model_get_vocab(model);
  std::vector<llama_token> toks(text.size() + 8);
  int n = llama_tokenize(vocab, text.c_str(), text.size(), toks.data(), toks.size(), false, info[1].ToBoolean());
  if (n < 0) throw Napi::Error::New(env, "tokenization failed");
  Napi::Int32Array out = Napi::Int32Array::New(env, n);
  std::memcpy(out.Data(), toks.data(), n * sizeof(llama_token));
  return out;
}

std::vector<llama_token> read_token_ids(Napi::Env env, const Napi::Value & v, const llama_model * model) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "tokenIds must be an Int32Array");
  Napi::Int32Array ids = v.As<Napi::Int32Array>();
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> tokens;
  for (size_t i = 0; i < ids.ElementLength(); i++) {
    if (ids[i] < 0 || ids[i] >= n_vocab) throw Napi::RangeError::New(env, "token id out of range");
    tokens.push_back(ids[i]);
  }
  return tokens;
}

Napi::Value VlModel::score(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  std::vector<PromptPart> parts = read_parts(env, info[0]);
  std::vector<ImageInput> images = read_images(env, info[1]);
  std::vector<llama_token> tokens = read_token_ids(env, info[2], model);
  auto * w = new ScoreWorker(env, this, info.This().As<Napi::Object>(), std::move(parts), std::move(images), std::move(tokens));
  w->Queue();
  return w->promise();
}

Napi::Value VlModel::scoreBatch(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  if (mode == "embed") throw Napi::Error::New(env, "scoreBatch needs a model loaded with mode generate or rank");
  std::vector<PromptPart> prefix = read_parts(env, info[0]);
  std::vector<ImageInput> prefix_images = read_images(env, info[1]);
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "suffixes must be an array of { prompt, images }");
  Napi::Array arr = info[2].As<Napi::Array>();
  if (arr.Length() == 0) throw Napi::RangeError::New(env, "scoreBatch needs at least one suffix");
  std::vector<ScoreBatchWorker::Suffix> suffixes;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    if (!arr.Get(i).IsObject()) throw Napi::TypeError::New(env, "suffixes must be an array of { prompt, images }");
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    suffixes.push_back({read_parts(env, o.Get("prompt")), read_images(env, o.Get("images"))});
  }
  std::vector<llama_token> tokens = read_token_ids(env, info[3], model);
  if (mode == "generate" && tokens.empty()) throw Napi::RangeError::New(env, "scoreBatch in generate mode needs token ids");
  auto * w = new ScoreBatchWorker(env, this, info.This().As<Napi::Object>(), std::move(prefix), std::move(prefix_images),
                                  std::move(suffixes), std::move(tokens));
  w->Queue();
  return w->promise();
}

Napi::Value VlModel::generate(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  std::vector<PromptPart> parts = read_parts(env, info[0]);
  std::vector<ImageInput> images = read_images(env, info[1]);
  Napi::Object o = info[2].As<Napi::Object>();
  if (!info[3].IsFunction()) throw Napi::TypeError::New(env, "generate: onText must be a function");
  int max_tokens = o.Get("maxTokens").ToNumber().Int32Value();
  if (max_tokens <= 0) throw Napi::RangeError::New(env, "maxTokens must be positive");
  // NaN would pass `temperature <= 0` and feed NaN logits to the sampler; JS validates first, this is the backstop
  const double temperature = o.Get("temperature").ToNumber().DoubleValue();
  if (!std::isfinite(temperature) || temperature < 0) throw Napi::RangeError::New(env, "temperature must be a finite number >= 0");
  const double seed = o.Get("seed").ToNumber().DoubleValue();
  if (!(seed >= 0 && seed < LLAMA_DEFAULT_SEED) || seed != static_cast<uint32_t>(seed))  // LLAMA_DEFAULT_SEED means "random"
    throw Napi::RangeError::New(env, "seed must be an integer in 0..4294967294");
  auto * w = new GenerateWorker(env, this, info.This().As<Napi::Object>(), info[3].As<Napi::Function>(), std::move(parts),
                                std::move(images), max_tokens, static_cast<float>(temperature), static_cast<uint32_t>(seed));
  w->Queue();
  return w->promise();
}

Napi::Value VlModel::embed(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  std::vector<ImageInput> images = read_images(env, info[0]);
  if (images.size() != 1) throw Napi::RangeError::New(env, "embed takes one image");
  auto * w = new EmbedWorker(env, this, info.This().As<Napi::Object>(), std::move(images));
  w->Queue();
  return w->promise();
}

Napi::Value VlModel::embedPrompt(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  if (mode == "generate") throw Napi::Error::New(env, "embedPrompt needs a model loaded with mode embed or rank");
  std::vector<PromptPart> parts = read_parts(env, info[0]);
  std::vector<ImageInput> images = read_images(env, info[1]);
  auto * w = new EmbedPromptWorker(env, this, info.This().As<Napi::Object>(), std::move(parts), std::move(images));
  w->Queue();
  return w->promise();
}

}  // namespace

Napi::Function init_vl_model(Napi::Env env) { return VlModel::define(env); }
