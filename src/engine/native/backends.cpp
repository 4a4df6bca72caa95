// Backends: the devices ggml can compute on. The module links node-llama-cpp's CPU build; a GPU backend
// (libggml-vulkan.so, libggml-cuda.so from node-llama-cpp's other prebuilt packages) is loaded at run time into the
// same ggml registry, which works because every variant ships the same libggml-base.so. JS decides which library to
// try (src/engine/accel); this file loads it and reports what ggml then sees.
#include <dlfcn.h>

#include <chrono>
#include <memory>
#include <vector>

#include "common.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

namespace {

const char * type_name(enum ggml_backend_dev_type t) {
  switch (t) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    default: return "accel";
  }
}

Napi::Object device_info(Napi::Env env, ggml_backend_dev_t dev) {
  size_t free = 0, total = 0;
  ggml_backend_dev_memory(dev, &free, &total);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", ggml_backend_dev_name(dev));
  o.Set("description", ggml_backend_dev_description(dev));
  o.Set("type", type_name(ggml_backend_dev_type(dev)));
  o.Set("backend", ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev)));
  o.Set("memoryFree", static_cast<double>(free));
  o.Set("memoryTotal", static_cast<double>(total));
  return o;
}

Napi::Array devices_of(Napi::Env env, ggml_backend_reg_t reg) {
  Napi::Array out = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (reg == nullptr || ggml_backend_dev_backend_reg(dev) == reg) out.Set(out.Length(), device_info(env, dev));
  }
  return out;
}

// devices() -> every device ggml has registered, with its current free/total memory
Napi::Value devices(const Napi::CallbackInfo & info) {
  ensure_backends_loaded();
  return devices_of(info.Env(), nullptr);
}

// loadBackend(path) -> { ok: true, name, devices } | { ok: false, error }
// A backend that loads but finds no device is unloaded again, so that clip and libllama never pick it.
Napi::Value loadBackend(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "loadBackend(path: string)");
  ensure_backends_loaded();
  const std::string path = info[0].As<Napi::String>();
  Napi::Object out = Napi::Object::New(env);
  // dlopen first for its own message: a missing CUDA runtime or Vulkan loader names the library it lacks
  void * handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char * why = dlerror();
    out.Set("ok", false);
    out.Set("error", why ? why : "dlopen failed");
    return out;
  }
  take_native_errors();
  ggml_backend_reg_t reg = ggml_backend_load(path.c_str());
  dlclose(handle);  // ggml holds its own reference
  if (reg == nullptr) {
    out.Set("ok", false);
    out.Set("error", with_native_errors("ggml could not register the backend"));
    return out;
  }
  Napi::Array devs = devices_of(env, reg);
  out.Set("name", ggml_backend_reg_name(reg));
  if (devs.Length() == 0) {
    ggml_backend_unload(reg);
    out.Set("ok", false);
    out.Set("error", "no device");
    return out;
  }
  out.Set("ok", true);
  out.Set("devices", devs);
  return out;
}

// matmulPeak(n, threads, type, reps) -> GFLOP/s of an n x n x n ggml_mul_mat on the CPU backend, weights of `type`
// ("f32", "f16", "bf16", "q8_0") times F32 activations: the machine's own ceiling for the encoder's main operation.
Napi::Value matmulPeak(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  const int n = info[0].ToNumber().Int32Value();
  const int threads = info[1].ToNumber().Int32Value();
  const std::string type_str = info[2].ToString();
  const int reps = info[3].ToNumber().Int32Value();
  if (n < 32 || n > 8192 || n % 32 != 0 || threads < 1 || reps < 1) throw Napi::RangeError::New(env, "matmulPeak: bad arguments");
  ggml_type type = type_str == "f32" ? GGML_TYPE_F32 : type_str == "f16" ? GGML_TYPE_F16 : type_str == "bf16" ? GGML_TYPE_BF16
                 : type_str == "q8_0" ? GGML_TYPE_Q8_0 : GGML_TYPE_COUNT;
  if (type == GGML_TYPE_COUNT) throw Napi::RangeError::New(env, "matmulPeak: type must be f32, f16, bf16 or q8_0");
  ensure_backends_loaded();
  // owned here, freed however the call ends (the buffers below can be large: a failed allocation throws)
  std::unique_ptr<ggml_backend, decltype(&ggml_backend_free)> backend(
      ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr), ggml_backend_free);
  ggml_backend_t cpu = backend.get();
  if (!cpu) throw coded_error(env, "native_error", "no CPU backend");
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(cpu));
  auto set_threads = reinterpret_cast<ggml_backend_set_n_threads_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads"));
  if (set_threads) set_threads(cpu, threads);

  ggml_init_params params{ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
  std::unique_ptr<ggml_context, decltype(&ggml_free)> owned_ctx(ggml_init(params), ggml_free);
  ggml_context * ctx = owned_ctx.get();
  ggml_tensor * a = ggml_new_tensor_2d(ctx, type, n, n);
  ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, n);
  ggml_tensor * c = ggml_mul_mat(ctx, a, b);
  ggml_cgraph * graph = ggml_new_graph(ctx);
  ggml_build_forward_expand(graph, c);
  std::unique_ptr<ggml_backend_buffer, decltype(&ggml_backend_buffer_free)> buf(
      ggml_backend_alloc_ctx_tensors(ctx, cpu), ggml_backend_buffer_free);
  if (!buf) throw coded_error(env, "out_of_memory", "matmulPeak: the backend could not allocate the matrices");
  // small values: the result must stay finite whatever the type
  std::vector<float> rows(static_cast<size_t>(n) * n);
  for (size_t i = 0; i < rows.size(); i++) rows[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  ggml_backend_tensor_set(b, rows.data(), 0, ggml_nbytes(b));
  std::vector<uint8_t> packed(ggml_nbytes(a));
  ggml_quantize_chunk(type, rows.data(), packed.data(), 0, n, n, nullptr);
  ggml_backend_tensor_set(a, packed.data(), 0, packed.size());

  ggml_backend_graph_compute(cpu, graph);  // warm-up: thread pool, caches
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; r++) ggml_backend_graph_compute(cpu, graph);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
  return Napi::Number::New(env, 2.0 * n * n * n / seconds / 1e9);
}

}  // namespace

void init_backends(Napi::Env env, Napi::Object exports) {
  exports.Set("devices", Napi::Function::New(env, guarded_function<devices>, "devices"));
  exports.Set("loadBackend", Napi::Function::New(env, guarded_function<loadBackend>, "loadBackend"));
  exports.Set("matmulPeak", Napi::Function::New(env, guarded_function<matmulPeak>, "matmulPeak"));
}

std::string device_of(const std::map<ggml_backend_dev_t, size_t> & usage) {
  for (const auto & [dev, bytes] : usage) {
    if (bytes > 0 && ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_CPU) return ggml_backend_dev_name(dev);
  }
  return "CPU";
}
