// Module entry: backend loading and log capture shared by ClipModel and VlModel.
#include "common.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "ggml-backend.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

namespace {
// Per thread: a native call runs on one libuv worker thread from start to end, so the lines a call's thread logged
// are that call's, whatever other models do at the same time on other threads.
thread_local std::string error_lines;
thread_local std::string * captured = nullptr;  // set by a LogCapture on this thread
bool log_verbose = false;

// Error lines are kept for the JS error of the call that failed (with_native_errors), not printed: a cancelled
// generation makes llama_decode log "failed to decode", which is no error to the user.
void log_callback(ggml_log_level level, const char * text, void *) {
  if (log_verbose) fputs(text, stderr);
  if (level == GGML_LOG_LEVEL_ERROR && error_lines.size() < 4096) error_lines += text;
  if (captured != nullptr && captured->size() < (1 << 16)) *captured += text;
}

std::string module_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&module_dir), &info) == 0 || info.dli_fname == nullptr) return ".";
  std::string path = info.dli_fname;
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
}  // namespace

LogCapture::LogCapture() : previous(captured) { captured = &text; }
LogCapture::~LogCapture() { captured = previous; }

std::string take_native_errors() {
  std::string out;
  out.swap(error_lines);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string with_native_errors(const std::string & what) {
  std::string details = take_native_errors();
  return details.empty() ? what : what + ": " + details;
}

void ensure_backends_loaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    // node-llama-cpp in the same process may already have registered a CPU backend: do not add it twice.
    if (ggml_backend_reg_by_name("CPU") == nullptr) {
      std::string bins = module_dir() + "/" + LOOKALIKE_BINS_FROM_MODULE;
      ggml_backend_load_all_from_path(bins.c_str());
    }
  });
}

namespace {
Napi::Object init(Napi::Env env, Napi::Object exports) {
  const char * verbose = std::getenv("LOOKALIKE_NATIVE_LOG");
  log_verbose = verbose != nullptr && *verbose != 0 && std::string(verbose) != "0";
  ggml_log_set(log_callback, nullptr);
  llama_log_set(log_callback, nullptr);
  mtmd_log_set(log_callback, nullptr);
  mtmd_helper_log_set(log_callback, nullptr);
  exports.Set("ClipModel", init_clip_model(env));
  exports.Set("VlModel", init_vl_model(env));
  init_backends(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(lookalike_native, init)
