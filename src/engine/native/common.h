// Shared pieces of the native module: backend start-up, log capture, and small N-API helpers.
#pragma once
#include <napi.h>
#include <map>
#include <optional>
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

// A JS Error with a stable `code` (JS tells failures apart by it, never by the message).
inline Napi::Value with_code(const Napi::Error & e, const char * code) {
  Napi::Object err = e.Value();
  err.Set("code", Napi::String::New(e.Env(), code));
  return err;
}
inline Napi::Error coded_error(Napi::Env env, const char * code, const std::string & message) {
  Napi::Error e = Napi::Error::New(env, message);
  with_code(e, code);
  return e;
}

// A C++ exception caught at the edge of a native call.
struct NativeFailure {
  const char * code;  // "out_of_memory" (an allocation failed) or "native_error"
  std::string message;
};

// Runs `body`, returning the C++ exception it threw, if any, as a failure with a code: none may leave a native call
// (off the JS thread it would end the process; N-API itself passes on only Napi::Error).
template <typename F>
std::optional<NativeFailure> catch_native(F && body) {
  try {
    body();
    return std::nullopt;
  } catch (const Napi::Error &) {
    throw;  // already a JS error (a bad argument): it passes as it is
  } catch (const std::bad_alloc &) {
    return NativeFailure{"out_of_memory", "not enough memory for this call"};
  } catch (const std::exception & e) {
    return NativeFailure{"native_error", e.what()};
  } catch (...) {
    return NativeFailure{"native_error", "an unknown C++ exception"};
  }
}

// A synchronous call's body: a C++ exception becomes a thrown JS error with a code. The call's own checks throw
// TypeError or RangeError (code invalid_argument) or Error (a model busy or not loaded: native_error).
template <typename F>
Napi::Value guard_sync(Napi::Env env, F && body) {
  Napi::Value out;
  std::optional<NativeFailure> failure;
  try {
    failure = catch_native([&] { out = body(); });
  } catch (Napi::Error & e) {
    Napi::Value value = e.Value();
    if (value.IsObject() && !value.As<Napi::Object>().Has("code")) {
      Napi::Object global = env.Global();
      const bool argument = value.As<Napi::Object>().InstanceOf(global.Get("TypeError").As<Napi::Function>()) ||
                            value.As<Napi::Object>().InstanceOf(global.Get("RangeError").As<Napi::Function>());
      with_code(e, argument ? "invalid_argument" : "native_error");
    }
    throw;
  }
  if (failure) throw coded_error(env, failure->code, failure->message);
  return out;
}

// A module function through guard_sync.
template <Napi::Value (*F)(const Napi::CallbackInfo &)>
Napi::Value guarded_function(const Napi::CallbackInfo & info) {
  return guard_sync(info.Env(), [&] { return F(info); });
}

// Every slow call is one of these: run() works on the libuv pool, then resolve() settles the promise on the JS thread.
// A failure's code is "native_error" unless a step set another.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char * name)
      : Napi::AsyncWorker(env, name), deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred.Promise(); }

 protected:
  virtual void run() = 0;
  virtual void resolve() = 0;
  // On the JS thread when the call is over, whichever way it went (the model is free again).
  virtual void finished() {}
  virtual const char * error_code() const { return code ? code : "native_error"; }
  void fail(const char * error_code, const std::string & message) {
    code = error_code;
    SetError(message.empty() ? "native call failed" : message);  // an empty message would read as success
  }
  Napi::Promise::Deferred deferred;
  const char * code = nullptr;

 private:
  void Execute() final {
    if (auto f = catch_native([&] { run(); })) fail(f->code, f->message);
  }
  // A Napi::Error from building the result (an allocation V8 refused) rejects the call; left to N-API it would
  // become an uncaught exception.
  void OnOK() final {
    finished();
    std::optional<NativeFailure> failure;
    try {
      failure = catch_native([&] { resolve(); });
    } catch (const Napi::Error & e) {
      return deferred.Reject(with_code(e, "native_error"));
    }
    if (failure) deferred.Reject(coded_error(Env(), failure->code, failure->message).Value());
  }
  void OnError(const Napi::Error & e) final {
    finished();
    deferred.Reject(with_code(e, error_code()));
  }
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
