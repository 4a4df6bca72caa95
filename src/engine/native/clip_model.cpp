// ClipModel: the vision tower of an mmproj file (clip_init), encoding one RGB image into per-token vectors.
// Only the mmproj is loaded: no text model is needed for embeddings. JS validates every argument first.
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "clip-impl.h"
#include "clip-model.h"
#include "clip.h"
#include "common.h"
#include "mtmd-image.h"

namespace {

// Time and FLOPs per ggml op, for finding where an encode spends its time (bench/accel). The scheduler's eval
// callback is asked about every node, so each node is computed on its own and timed between two callbacks.
struct OpProfile {
  struct Entry {
    double ms = 0;
    double flop = 0;
    int count = 0;
  };
  std::map<std::string, Entry> ops;
  std::chrono::steady_clock::time_point last;

  void start() { last = std::chrono::steady_clock::now(); }

  static double flop_of(const ggml_tensor * t) {
    if (t->op == GGML_OP_MUL_MAT) return 2.0 * t->src[0]->ne[0] * ggml_nelements(t);
    if (t->op == GGML_OP_FLASH_ATTN_EXT) {  // QK^T and PV: 2 x 2 x head_dim x n_q x n_kv x heads
      const ggml_tensor * q = t->src[0];
      const ggml_tensor * k = t->src[1];
      return 4.0 * q->ne[0] * q->ne[1] * k->ne[1] * q->ne[2] * q->ne[3];
    }
    return 0;
  }

  static bool callback(ggml_tensor * t, bool ask, void * user_data) {
    if (ask) return true;
    auto * p = static_cast<OpProfile *>(user_data);
    const auto now = std::chrono::steady_clock::now();
    Entry & e = p->ops[ggml_op_desc(t)];
    e.ms += std::chrono::duration<double, std::milli>(now - p->last).count();
    e.flop += flop_of(t);
    e.count++;
    p->last = now;
    return true;
  }
};

class ClipModel : public Napi::ObjectWrap<ClipModel> {
 public:
  explicit ClipModel(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ClipModel>(info) {}
  ~ClipModel() override { release(); }

  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ClipModel",
                       {InstanceMethod<&ClipModel::guarded<&ClipModel::load>>("load"),
                        InstanceMethod<&ClipModel::guarded<&ClipModel::info>>("info"),
                        InstanceMethod<&ClipModel::guarded<&ClipModel::encode>>("encode"),
                        InstanceMethod<&ClipModel::guarded<&ClipModel::dispose>>("dispose"),
                        InstanceMethod<&ClipModel::guarded<&ClipModel::takeProfile>>("takeProfile")});
  }

  clip_ctx * ctx = nullptr;
  std::string load_log;  // what llama.cpp said while loading (diagnostics only)
  std::string device = "CPU";  // where the vision tower's weights are, from clip_get_mem_usage
  std::unique_ptr<OpProfile> profiler;  // set by load({ profile: true })
  bool busy = false;  // one native call at a time; the JS wrapper queues calls, this is the backstop

  void release() {
    if (ctx != nullptr) clip_free(ctx);
    ctx = nullptr;
  }

 private:
  Napi::Value load(const Napi::CallbackInfo & info);
  Napi::Value info(const Napi::CallbackInfo & info);
  Napi::Value encode(const Napi::CallbackInfo & info);
  Napi::Value dispose(const Napi::CallbackInfo & info);
  Napi::Value takeProfile(const Napi::CallbackInfo & info);
  template <Napi::Value (ClipModel::*M)(const Napi::CallbackInfo &)>
  Napi::Value guarded(const Napi::CallbackInfo & info) {
    return guard_sync(info.Env(), [&] { return (this->*M)(info); });
  }

  void check_idle(Napi::Env env, bool must_be_loaded) {
    if (busy) throw Napi::Error::New(env, "ClipModel is busy: calls must be serialized");
    if (must_be_loaded && ctx == nullptr) throw Napi::Error::New(env, "ClipModel is not loaded or was disposed");
  }
};

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, ClipModel * model, Napi::Object self, std::string path, clip_context_params params)
      : PromiseWorker(env, "lookalike.ClipModel.load"), model(model), self(Napi::Persistent(self)),
        path(std::move(path)), params(params) {}

  ~LoadWorker() override {
    if (ctx != nullptr) clip_free(ctx);  // a load that did not reach the model
  }

 private:
  void run() override {
    ensure_backends_loaded();
    take_native_errors();
    LogCapture capture;
    clip_init_result res = clip_init(path.c_str(), params);
    log = std::move(capture.text);
    if (res.ctx_a != nullptr) clip_free(res.ctx_a);
    if (res.ctx_gen_a != nullptr) clip_free(res.ctx_gen_a);
    if (res.ctx_v == nullptr) {
      return fail("native_error", with_native_errors("failed to load the vision encoder from " + path));
    }
    ctx = res.ctx_v;
  }
  void finished() override { model->busy = false; }
  void resolve() override {
    model->device = device_of(clip_get_mem_usage(ctx));
    model->load_log = std::move(log);
    model->ctx = ctx;
    ctx = nullptr;
    deferred.Resolve(Env().Undefined());
  }

  ClipModel * model;
  Napi::ObjectReference self;  // keeps the JS object alive while the work is queued
  std::string path;
  clip_context_params params;
  clip_ctx * ctx = nullptr;
  std::string log;
};

class EncodeWorker : public PromiseWorker {
 public:
  EncodeWorker(Napi::Env env, ClipModel * model, Napi::Object self, std::vector<uint8_t> rgb, int width, int height,
               int n_threads)
      : PromiseWorker(env, "lookalike.ClipModel.encode"), model(model), self(Napi::Persistent(self)),
        rgb(std::move(rgb)), width(width), height(height), n_threads(n_threads) {}

 private:
  void run() override {
    take_native_errors();
    clip_image_u8 img;
    img.set_size({width, height}, false);
    img.cpy_buf(rgb);
    mtmd_image_preprocessor_dyn_size preprocessor(model->ctx);
    mtmd_image_preproc_out pre = preprocessor.preprocess(img);
    if (pre.entries.size() != 1) {
      const std::string n = std::to_string(pre.entries.size());
      return fail("native_error", "the preprocessor returned " + n + " images, expected 1");
    }
    out_width = pre.entries[0].nx();
    out_height = pre.entries[0].ny();
    n_tokens = clip_n_output_tokens(model->ctx, &pre.entries[0]);
    clip_image_f32_batch batch;
    batch.entries = std::move(pre.entries);
    embd = std::make_unique<std::vector<float>>();
    embd->resize(static_cast<size_t>(n_tokens) * clip_n_mmproj_embd(model->ctx));
    if (model->profiler) model->profiler->start();
    if (!clip_image_batch_encode(model->ctx, n_threads, &batch, *embd)) {
      fail("native_error", with_native_errors("image encoding failed"));
    }
  }
  void finished() override { model->busy = false; }
  void resolve() override {
    Napi::Env env = Env();
    std::vector<float> * data = embd.get();
    auto buffer = Napi::ArrayBuffer::New(env, data->data(), data->size() * sizeof(float),
                                         [](Napi::Env, void *, std::vector<float> * v) { delete v; }, data);
    embd.release();  // the ArrayBuffer owns it now
    Napi::Object out = Napi::Object::New(env);
    out.Set("data", Napi::Float32Array::New(env, data->size(), buffer, 0));
    out.Set("nTokens", n_tokens);
    out.Set("width", out_width);
    out.Set("height", out_height);
    deferred.Resolve(out);
  }

  ClipModel * model;
  Napi::ObjectReference self;
  std::vector<uint8_t> rgb;
  int width, height, n_threads;
  int n_tokens = 0, out_width = 0, out_height = 0;
  std::unique_ptr<std::vector<float>> embd;
};

// load(path, { minTokens, maxTokens, useGpu, flashAttn: 'auto' | 'on' | 'off', profile }) -> Promise<void>
Napi::Value ClipModel::load(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, false);
  if (ctx != nullptr) throw Napi::Error::New(env, "ClipModel is already loaded");
  if (!info[0].IsString() || !info[1].IsObject()) throw Napi::TypeError::New(env, "load(path: string, options: object)");
  Napi::Object opts = info[1].As<Napi::Object>();
  clip_context_params params{};
  params.use_gpu = opts.Get("useGpu").ToBoolean();
  params.device = nullptr;
  const std::string flash = opts.Get("flashAttn").IsString() ? opts.Get("flashAttn").ToString().Utf8Value() : "auto";
  params.flash_attn_type = flash == "on" ? CLIP_FLASH_ATTN_TYPE_ENABLED : flash == "off" ? CLIP_FLASH_ATTN_TYPE_DISABLED : CLIP_FLASH_ATTN_TYPE_AUTO;
  params.image_min_tokens = opts.Get("minTokens").ToNumber().Int32Value();
  params.image_max_tokens = opts.Get("maxTokens").ToNumber().Int32Value();
  params.warmup = false;  // Qwen-VL's warm-up sizes buffers for ~2116 tokens: minutes on a CPU
  profiler.reset(opts.Get("profile").ToBoolean() ? new OpProfile() : nullptr);
  params.cb_eval = profiler ? OpProfile::callback : nullptr;
  params.cb_eval_user_data = profiler.get();
  params.no_alloc = false;
  params.progress_callback = nullptr;
  params.progress_callback_user_data = nullptr;
  busy = true;
  auto * worker = new LoadWorker(env, this, info.This().As<Napi::Object>(), info[0].As<Napi::String>(), params);
  worker->Queue();
  return worker->promise();
}

Napi::Value ClipModel::info(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  if (ctx == nullptr) throw Napi::Error::New(env, "ClipModel is not loaded or was disposed");
  const clip_hparams & hp = *clip_get_hparams(ctx);
  Napi::Object out = Napi::Object::New(env);
  out.Set("projectorType", PROJECTOR_TYPE_NAMES[clip_get_projector_type(ctx)]);
  out.Set("nMmprojEmbd", clip_n_mmproj_embd(ctx));
  out.Set("patchSize", hp.patch_size);
  out.Set("nMerge", hp.n_merge);
  out.Set("imageMinPixels", hp.image_min_pixels);
  out.Set("imageMaxPixels", hp.image_max_pixels);
  out.Set("hiddenSize", hp.n_embd);
  out.Set("nLayer", hp.n_layer);
  out.Set("loadLog", load_log);
  out.Set("device", device);
  return out;
}

// encode(rgb: Uint8Array, width, height, nThreads) -> Promise<{ data: Float32Array, nTokens, width, height }>
Napi::Value ClipModel::encode(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "encode: rgb must be a Uint8Array");
  Napi::Uint8Array rgb = info[0].As<Napi::Uint8Array>();
  int width = info[1].ToNumber().Int32Value();
  int height = info[2].ToNumber().Int32Value();
  int n_threads = info[3].ToNumber().Int32Value();
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384 || n_threads <= 0 ||
      rgb.ByteLength() != static_cast<size_t>(width) * height * 3)
    throw Napi::RangeError::New(env, "encode: bad image size or thread count");
  // Copy the pixels now: the worker must not touch JS memory off the main thread.
  std::vector<uint8_t> pixels(rgb.Data(), rgb.Data() + rgb.ByteLength());
  busy = true;
  auto * worker = new EncodeWorker(env, this, info.This().As<Napi::Object>(), std::move(pixels), width, height, n_threads);
  worker->Queue();
  return worker->promise();
}

// takeProfile() -> [{ op, ms, flop, count }] since the last call (loaded with profile: true), then resets
Napi::Value ClipModel::takeProfile(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  check_idle(env, true);
  if (!profiler) throw Napi::Error::New(env, "ClipModel was loaded without profile: true");
  Napi::Array out = Napi::Array::New(env);
  for (const auto & [op, e] : profiler->ops) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("op", op);
    o.Set("ms", e.ms);
    o.Set("flop", e.flop);
    o.Set("count", e.count);
    out.Set(out.Length(), o);
  }
  profiler->ops.clear();
  return out;
}

Napi::Value ClipModel::dispose(const Napi::CallbackInfo & info) {
  check_idle(info.Env(), false);
  release();
  return info.Env().Undefined();
}

}  // namespace

Napi::Function init_clip_model(Napi::Env env) { return ClipModel::define(env); }
