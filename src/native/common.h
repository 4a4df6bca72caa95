// Shared pieces of the native module: backend start-up, log capture, and small N-API helpers.
#pragma once
#include <napi.h>
#include <string>

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

// Every slow call is one of these: it runs Execute() on the libuv pool and settles a promise.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char * name)
      : Napi::AsyncWorker(env, name), deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred.Promise(); }

 protected:
  void OnError(const Napi::Error & e) override { deferred.Reject(e.Value()); }
  Napi::Promise::Deferred deferred;
};

// A message for SetError(): what failed, plus what llama.cpp logged about it.
std::string with_native_errors(const std::string & what);

Napi::Function init_clip_model(Napi::Env env);
Napi::Function init_vl_model(Napi::Env env);
// devices(), loadBackend(path), matmulPeak(...) on the module's exports.
void init_backends(Napi::Env env, Napi::Object exports);
