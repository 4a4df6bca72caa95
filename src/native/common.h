// Shared pieces of the native module: backend start-up, log capture, and small N-API helpers.
#pragma once
#include <napi.h>
#include <string>

// Loads ggml's CPU (and, when built against a GPU variant, GPU) backends from the prebuilt bins dir once.
void ensure_backends_loaded();

// Error lines that llama.cpp logged since the last call; they become the message of a rejected promise.
std::string take_native_errors();

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
