// Shared pieces of the native module: backend start-up, log capture, and small N-API helpers.
#pragma once
#include <napi.h>
#include <map>
#include <string>
#include "ggml-backend.h"

// Loads ggml's CPU backend variants from the prebuilt bins dir once (GPU backends: loadBackend in backends.cpp).
void ensure_backends_loaded();

// Error lines that llama.cpp logged since the last call; they become the message of a rejected promise.
std::string take_native_errors();

// Collects every line llama.cpp logs on this thread while it lives: a load keeps what it said about devices
// ("CLIP using Vulkan0 backend", "offloaded 5/5 layers to GPU"), which JS reads to report where the model runs.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string text;

 private:
  std::string * previous;
};

// A rejected call's Error, with a stable `code` (JS tells failures apart by it, never by the message).
inline Napi::Value with_code(const Napi::Error & e, const char * code) {
  Napi::Object err = e.Value();
  err.Set("code", Napi::String::New(e.Env(), code));
  return err;
}

// Every slow call is one of these: it runs Execute() on the libuv pool and settles a promise. Its rejection's code is
// "native_error" unless a step set another.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char * name)
      : Napi::AsyncWorker(env, name), deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred.Promise(); }

 protected:
  void OnError(const Napi::Error & e) override { deferred.Reject(with_code(e, error_code())); }
  virtual const char * error_code() const { return "native_error"; }
  Napi::Promise::Deferred deferred;
};

// The devices of a model's or a context's buffers (from ggml's per-device memory accounting): the one that is not the
// CPU when there is one ("Vulkan0", "CUDA0"), else "CPU".
std::string device_of(const std::map<ggml_backend_dev_t, size_t> & usage);

// A message for SetError(): what failed, plus what llama.cpp logged about it.
std::string with_native_errors(const std::string & what);

Napi::Function init_clip_model(Napi::Env env);
Napi::Function init_vl_model(Napi::Env env);
// devices(), loadBackend(path), matmulPeak(...) on the module's exports.
void init_backends(Napi::Env env, Napi::Object exports);
