// faiss-node 0.5.1's src/faiss.cc, patched by lookalike (scripts/build-native.mjs copies it over the original).
// Changes from upstream:
//  - builds against faiss 1.7.3 (Debian 12): namespace-level idx_t alias;
//  - add/train/search take a Float32Array without per-element conversion (plain arrays still work), and search
//    returns typed arrays (distances: Float32Array, labels: Float64Array);
//  - no leaks: search's query copy and toBuffer's writer were never freed, fromBuffer copied twice;
//  - every faiss call is wrapped so a FaissException (add to an untrained IVF, removeIds on HNSW, write to a bad
//    path, ...) becomes a JS Error instead of aborting the process;
//  - a std::bad_alloc becomes an Error with code `out_of_memory`;
//  - setParameter(name, value) (efSearch, nprobe, ... through faiss::ParameterSpace) and setThreads(n);
//  - IVF-PQ with 4-bit codes is searched by ivfpq4_search.cc (Debian's faiss scans those codes slowly);
//    setPq4Scan(false) goes back to faiss' own scan.
#include <napi.h>
#include <omp.h>

#include <cstring>
#include <memory>
#include <vector>

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/MetricType.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#if FAISS_VERSION_MAJOR == 1 && FAISS_VERSION_MINOR < 8 && (FAISS_VERSION_MINOR < 7 || FAISS_VERSION_PATCH < 4)
namespace faiss {
using idx_t = Index::idx_t;
}
#endif

using namespace Napi;
using idx_t = faiss::idx_t;

namespace lookalike {
void setPq4Scan(bool on);
bool searchIvfPq4(const faiss::Index *index, idx_t nq, const float *x, idx_t k, float *distances, idx_t *labels);
}  // namespace lookalike

// The classes' constructors, one set per Node environment (main thread or worker), kept as the env's instance data.
struct Constructors {
  Napi::FunctionReference index, flatL2, flatIP;
};

// Runs a faiss call; any C++ exception becomes a pending JS exception (and `false`). Memory the index could not get
// (a flat index's array grows by doubling: at 1M x 4096 its first add after a load asks for 32 GB) is told by its
// code, `out_of_memory`, so the caller can say so without reading the message.
template <typename F>
static bool guarded(Napi::Env env, F &&fn) {
  try {
    fn();
    return true;
  } catch (const std::bad_alloc &) {
    Napi::Error err = Napi::Error::New(env, "the index could not get the memory it needs");
    err.Set("code", Napi::String::New(env, "out_of_memory"));
    err.ThrowAsJavaScriptException();
    return false;
  } catch (const std::exception &ex) {
    Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    return false;
  }
}

// Reads a Float32Array or an array of numbers whose length is a multiple of d.
static bool readFloats(Napi::Env env, Napi::Value v, size_t d, std::vector<float> &out) {
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto a = v.As<Napi::Float32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
  } else if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    out.resize(arr.Length());
    for (size_t i = 0; i < out.size(); i++) {
      Napi::Value item = arr[i];
      if (!item.IsNumber()) {
        Napi::TypeError::New(env, "Expected a Number as array item. (at: " + std::to_string(i) + ")").ThrowAsJavaScriptException();
        return false;
      }
      out[i] = item.As<Napi::Number>().FloatValue();
    }
  } else {
    Napi::TypeError::New(env, "Expected a Float32Array or an Array of numbers.").ThrowAsJavaScriptException();
    return false;
  }
  if (d == 0 || out.size() % d != 0) {
    Napi::Error::New(env, "Invalid the given array length.").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

static bool expectArgs(const Napi::CallbackInfo &info, size_t n) {
  if (info.Length() >= n) return true;
  Napi::Error::New(info.Env(), "Expected " + std::to_string(n) + " argument(s), but got " + std::to_string(info.Length()) + ".")
      .ThrowAsJavaScriptException();
  return false;
}

template <class T, typename Y>
class IndexBase : public Napi::ObjectWrap<T> {
 public:
  IndexBase(const Napi::CallbackInfo &info) : Napi::ObjectWrap<T>(info) {
    if (info.Length() > 0 && info[0].IsNumber()) {
      index_ = std::unique_ptr<faiss::Index>(new Y(info[0].As<Napi::Number>().Uint32Value()));
    }
  }

  static Napi::Value read(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 1)) return env.Undefined();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "Invalid the first argument type, must be a string.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string fname = info[0].As<Napi::String>().Utf8Value();
    std::unique_ptr<faiss::Index> idx;
    if (!guarded(env, [&] { idx.reset(faiss::read_index(fname.c_str())); })) return env.Undefined();
    return wrap(env, std::move(idx));
  }

  static Napi::Value fromBuffer(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 1)) return env.Undefined();
    if (!info[0].IsBuffer()) {
      Napi::TypeError::New(env, "Invalid the first argument type, must be a buffer.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    faiss::VectorIOReader reader;
    reader.data.assign(buf.Data(), buf.Data() + buf.Length());
    std::unique_ptr<faiss::Index> idx;
    if (!guarded(env, [&] { idx.reset(faiss::read_index(&reader)); })) return env.Undefined();
    return wrap(env, std::move(idx));
  }

  static Napi::Value fromFactory(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 2)) return env.Undefined();
    if (!info[0].IsNumber() || !info[1].IsString()) {
      Napi::TypeError::New(env, "fromFactory(dimension: number, description: string, metric?: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto metric = faiss::MetricType::METRIC_L2;
    if (info.Length() > 2 && info[2].IsNumber()) metric = static_cast<faiss::MetricType>(info[2].As<Napi::Number>().Uint32Value());
    const uint32_t d = info[0].As<Napi::Number>().Uint32Value();
    std::string description = info[1].As<Napi::String>().Utf8Value();
    std::unique_ptr<faiss::Index> idx;
    if (!guarded(env, [&] { idx.reset(faiss::index_factory(d, description.c_str(), metric)); })) return env.Undefined();
    return wrap(env, std::move(idx));
  }

  static Napi::Value setThreads(const Napi::CallbackInfo &info) {
    if (info.Length() > 0 && info[0].IsNumber()) omp_set_num_threads(std::max(1, info[0].As<Napi::Number>().Int32Value()));
    return Napi::Number::New(info.Env(), omp_get_max_threads());
  }

  static Napi::Value setPq4Scan(const Napi::CallbackInfo &info) {
    lookalike::setPq4Scan(info.Length() == 0 || info[0].ToBoolean());
    return info.Env().Undefined();
  }

  Napi::Value isTrained(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), index_->is_trained); }
  Napi::Value ntotal(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), index_->ntotal); }
  Napi::Value getDimension(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), index_->d); }

  Napi::Value add(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::vector<float> x;
    if (!expectArgs(info, 1) || !readFloats(env, info[0], index_->d, x)) return env.Undefined();
    guarded(env, [&] { index_->add(x.size() / index_->d, x.data()); });
    return env.Undefined();
  }

  Napi::Value train(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::vector<float> x;
    if (!expectArgs(info, 1) || !readFloats(env, info[0], index_->d, x)) return env.Undefined();
    guarded(env, [&] { index_->train(x.size() / index_->d, x.data()); });
    return env.Undefined();
  }

  Napi::Value search(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::vector<float> x;
    if (!expectArgs(info, 2) || !readFloats(env, info[0], index_->d, x)) return env.Undefined();
    if (!info[1].IsNumber()) {
      Napi::TypeError::New(env, "Invalid the second argument type, must be a Number.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int64_t k = info[1].As<Napi::Number>().Int64Value();
    if (k <= 0 || k > index_->ntotal) {
      Napi::Error::New(env, "Invalid the number of k (must be from 1 to `ntotal`: " + std::to_string(index_->ntotal) + ").")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const size_t nq = x.size() / index_->d;
    auto distances = Napi::Float32Array::New(env, nq * k);
    std::vector<idx_t> labels(nq * k);
    if (!guarded(env, [&] {
          if (!lookalike::searchIvfPq4(index_.get(), nq, x.data(), k, distances.Data(), labels.data())) {
            index_->search(nq, x.data(), k, distances.Data(), labels.data());
          }
        })) {
      return env.Undefined();
    }
    auto outLabels = Napi::Float64Array::New(env, nq * k);
    for (size_t i = 0; i < labels.size(); i++) outLabels[i] = static_cast<double>(labels[i]);
    Napi::Object results = Napi::Object::New(env);
    results.Set("distances", distances);
    results.Set("labels", outLabels);
    return results;
  }

  Napi::Value write(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 1)) return env.Undefined();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "Invalid the first argument type, must be a string.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const std::string fname = info[0].As<Napi::String>().Utf8Value();
    guarded(env, [&] { faiss::write_index(index_.get(), fname.c_str()); });
    return env.Undefined();
  }

  Napi::Value mergeFrom(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 1)) return env.Undefined();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "Invalid argument type, must be an object.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    T *other = Napi::ObjectWrap<T>::Unwrap(info[0].As<Napi::Object>());
    if (other->index_->d != index_->d) {
      Napi::Error::New(env, "The merging index must have the same dimension.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    guarded(env, [&] { index_->merge_from(*(other->index_)); });
    return env.Undefined();
  }

  Napi::Value removeIds(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 1)) return env.Undefined();
    if (!info[0].IsArray()) {
      Napi::TypeError::New(env, "Invalid the first argument type, must be an Array.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto arr = info[0].As<Napi::Array>();
    std::vector<idx_t> ids(arr.Length());
    for (size_t i = 0; i < ids.size(); i++) {
      Napi::Value v = arr[i];
      if (!v.IsNumber()) {
        Napi::TypeError::New(env, "Expected a Number as array item. (at: " + std::to_string(i) + ")").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      ids[i] = v.As<Napi::Number>().Int64Value();
    }
    size_t removed = 0;
    if (!guarded(env, [&] { removed = index_->remove_ids(faiss::IDSelectorArray(ids.size(), ids.data())); })) return env.Undefined();
    return Napi::Number::New(env, removed);
  }

  Napi::Value toBuffer(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    faiss::VectorIOWriter writer;
    if (!guarded(env, [&] { faiss::write_index(index_.get(), &writer); })) return env.Undefined();
    return Napi::Buffer<uint8_t>::Copy(env, writer.data.data(), writer.data.size());
  }

  // setParameter("efSearch", 128), setParameter("nprobe", 16): faiss::ParameterSpace names.
  Napi::Value setParameter(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!expectArgs(info, 2) || !info[0].IsString() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "setParameter(name: string, value: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    double value = info[1].As<Napi::Number>().DoubleValue();
    guarded(env, [&] { faiss::ParameterSpace().set_index_parameter(index_.get(), name, value); });
    return env.Undefined();
  }

  static std::vector<typename Napi::ObjectWrap<T>::PropertyDescriptor> methods() {
    return {
        T::InstanceMethod("ntotal", &T::ntotal),         T::InstanceMethod("getDimension", &T::getDimension),
        T::InstanceMethod("isTrained", &T::isTrained),   T::InstanceMethod("add", &T::add),
        T::InstanceMethod("train", &T::train),           T::InstanceMethod("search", &T::search),
        T::InstanceMethod("write", &T::write),           T::InstanceMethod("mergeFrom", &T::mergeFrom),
        T::InstanceMethod("removeIds", &T::removeIds),   T::InstanceMethod("toBuffer", &T::toBuffer),
        T::InstanceMethod("setParameter", &T::setParameter),
        T::StaticMethod("read", &T::read),               T::StaticMethod("fromBuffer", &T::fromBuffer),
        T::StaticMethod("fromFactory", &T::fromFactory), T::StaticMethod("setThreads", &T::setThreads),
        T::StaticMethod("setPq4Scan", &T::setPq4Scan),
    };
  }

  static Napi::Object define(Napi::Env env, Napi::Object exports) {
    auto func = T::DefineClass(env, T::CLASS_NAME, methods());
    env.GetInstanceData<Constructors>()->*T::SLOT = Napi::Persistent(func);
    exports.Set(T::CLASS_NAME, func);
    return exports;
  }

 protected:
  static Napi::Value wrap(Napi::Env env, std::unique_ptr<faiss::Index> idx) {
    Napi::Object instance = (env.GetInstanceData<Constructors>()->*T::SLOT).New({});
    Napi::ObjectWrap<T>::Unwrap(instance)->index_ = std::move(idx);
    return instance;
  }

  std::unique_ptr<faiss::Index> index_;
};

// faiss::Index is abstract so IndexFlatL2 is used as fallback
class Index : public IndexBase<Index, faiss::IndexFlatL2> {
 public:
  using IndexBase::IndexBase;
  static constexpr const char *CLASS_NAME = "Index";
  static constexpr Napi::FunctionReference Constructors::*SLOT = &Constructors::index;
};

class IndexFlatL2 : public IndexBase<IndexFlatL2, faiss::IndexFlatL2> {
 public:
  using IndexBase::IndexBase;
  static constexpr const char *CLASS_NAME = "IndexFlatL2";
  static constexpr Napi::FunctionReference Constructors::*SLOT = &Constructors::flatL2;
};

class IndexFlatIP : public IndexBase<IndexFlatIP, faiss::IndexFlatIP> {
 public:
  using IndexBase::IndexBase;
  static constexpr const char *CLASS_NAME = "IndexFlatIP";
  static constexpr Napi::FunctionReference Constructors::*SLOT = &Constructors::flatIP;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Per environment: every worker thread that loads the module gets its own constructors (a process-wide static
  // was overwritten by the last worker, and an index made in another then crashed the process).
  env.SetInstanceData(new Constructors());
  Index::define(env, exports);
  IndexFlatL2::define(env, exports);
  IndexFlatIP::define(env, exports);
  return exports;
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
