// faiss-node 0.5.1's src/faiss.cc, patched by lookalike (scripts/build-native.mjs copies it over the original).
// Changes from upstream:
//  - builds against faiss 1.7.3 (Debian 12): namespace-level idx_t alias;
//  - add/train/search take a Float32Array without per-element conversion (plain arrays still work), and search
//    returns typed arrays (distances: Float32Array, labels: Float64Array);
//  - no leaks: search's query copy and toBuffer's writer were never freed, fromBuffer copied twice;
//  - every method runs inside one guard, so no C++ exception reaches N-API (where it would call std::terminate):
//    each failure is a JS Error with a `code`: `out_of_memory` (a std::bad_alloc), `faiss_error` (a FaissException:
//    add to an untrained IVF, removeIds on HNSW, write to a bad path, ...), `invalid_argument` (a TypeError or
//    RangeError for bad arguments) or `native_error`;
//  - `new Index()` without a dimension throws a TypeError (upstream left the index null, and the next call on it
//    dereferenced null);
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

// A JS error with a stable `code` (callers tell failures apart by it, never by the message).
template <typename E = Napi::Error>
[[noreturn]] static void fail(Napi::Env env, const char *code, const std::string &message) {
  E err = E::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

// A bad argument's TypeError.
[[noreturn]] static void typeError(Napi::Env env, const std::string &message) {
  fail<Napi::TypeError>(env, "invalid_argument", message);
}

// Runs a method's body; any C++ exception becomes a JS error with a code. Memory the index could not get (a flat
// index's array grows by doubling: at 1M x 4096 its first add after a load asks for 32 GB) is `out_of_memory`, so
// the caller can say so without reading the message.
template <typename F>
static Napi::Value guarded(Napi::Env env, F &&fn) {
  try {
    return fn();
  } catch (const Napi::Error &) {
    throw;
  } catch (const std::bad_alloc &) {
    fail(env, "out_of_memory", "the index could not get the memory it needs");
  } catch (const faiss::FaissException &ex) {
    fail(env, "faiss_error", ex.what());
  } catch (const std::exception &ex) {
    fail(env, "native_error", ex.what());
  } catch (...) {
    fail(env, "native_error", "faiss-node: an unknown C++ exception");
  }
}

// Reads a Float32Array or an array of numbers whose length is a multiple of d.
static void readFloats(Napi::Env env, Napi::Value v, size_t d, std::vector<float> &out) {
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    auto a = v.As<Napi::Float32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
  } else if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    out.resize(arr.Length());
    for (size_t i = 0; i < out.size(); i++) {
      Napi::Value item = arr[i];
      if (!item.IsNumber()) {
        typeError(env, "Expected a Number as array item. (at: " + std::to_string(i) + ")");
      }
      out[i] = item.As<Napi::Number>().FloatValue();
    }
  } else {
    typeError(env, "Expected a Float32Array or an Array of numbers.");
  }
  if (d == 0 || out.size() % d != 0) fail(env, "invalid_argument", "Invalid the given array length.");
}

static void expectArgs(const Napi::CallbackInfo &info, size_t n) {
  if (info.Length() >= n) return;
  fail(info.Env(), "invalid_argument",
       "Expected " + std::to_string(n) + " argument(s), but got " + std::to_string(info.Length()) + ".");
}

// The index that wrap() hands to the constructor it calls (per thread: each Node environment runs on its own).
// JS cannot set it, so a constructor called from JS always needs its dimension.
static thread_local std::unique_ptr<faiss::Index> *adopting = nullptr;

template <class T, typename Y>
class IndexBase : public Napi::ObjectWrap<T> {
 public:
  IndexBase(const Napi::CallbackInfo &info) : Napi::ObjectWrap<T>(info) {
    Napi::Env env = info.Env();
    if (adopting != nullptr) {
      index_ = std::move(*adopting);
      adopting = nullptr;
      return;
    }
    if (info.Length() == 0 || !info[0].IsNumber()) {
      typeError(env, std::string("new ") + T::CLASS_NAME + "(dimension: number)");
    }
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= (1 << 20)) || d != static_cast<uint32_t>(d)) {
      fail<Napi::RangeError>(env, "invalid_argument", "the dimension must be an integer from 1 to 1048576");
    }
    guarded(env, [&] {
      index_ = std::make_unique<Y>(static_cast<idx_t>(d));
      return env.Undefined();
    });
  }

  static Napi::Value read(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    expectArgs(info, 1);
    if (!info[0].IsString()) typeError(env, "Invalid the first argument type, must be a string.");
    std::string fname = info[0].As<Napi::String>().Utf8Value();
    return wrap(env, std::unique_ptr<faiss::Index>(faiss::read_index(fname.c_str())));
  }

  static Napi::Value fromBuffer(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    expectArgs(info, 1);
    if (!info[0].IsBuffer()) typeError(env, "Invalid the first argument type, must be a buffer.");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    faiss::VectorIOReader reader;
    reader.data.assign(buf.Data(), buf.Data() + buf.Length());
    return wrap(env, std::unique_ptr<faiss::Index>(faiss::read_index(&reader)));
  }

  static Napi::Value fromFactory(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    expectArgs(info, 2);
    if (!info[0].IsNumber() || !info[1].IsString()) {
      typeError(env, "fromFactory(dimension: number, description: string, metric?: number)");
    }
    auto metric = faiss::MetricType::METRIC_L2;
    if (info.Length() > 2 && info[2].IsNumber()) metric = static_cast<faiss::MetricType>(info[2].As<Napi::Number>().Uint32Value());
    const uint32_t d = info[0].As<Napi::Number>().Uint32Value();
    std::string description = info[1].As<Napi::String>().Utf8Value();
    return wrap(env, std::unique_ptr<faiss::Index>(faiss::index_factory(d, description.c_str(), metric)));
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
    std::vector<float> x;
    expectArgs(info, 1);
    readFloats(info.Env(), info[0], index_->d, x);
    index_->add(x.size() / index_->d, x.data());
    return info.Env().Undefined();
  }

  Napi::Value train(const Napi::CallbackInfo &info) {
    std::vector<float> x;
    expectArgs(info, 1);
    readFloats(info.Env(), info[0], index_->d, x);
    index_->train(x.size() / index_->d, x.data());
    return info.Env().Undefined();
  }

  Napi::Value search(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::vector<float> x;
    expectArgs(info, 2);
    readFloats(env, info[0], index_->d, x);
    if (!info[1].IsNumber()) typeError(env, "Invalid the second argument type, must be a Number.");
    const int64_t k = info[1].As<Napi::Number>().Int64Value();
    if (k <= 0 || k > index_->ntotal) {
      const std::string n = std::to_string(index_->ntotal);
      fail(env, "invalid_argument", "Invalid the number of k (must be from 1 to `ntotal`: " + n + ").");
    }
    const size_t nq = x.size() / index_->d;
    auto distances = Napi::Float32Array::New(env, nq * k);
    std::vector<idx_t> labels(nq * k);
    if (!lookalike::searchIvfPq4(index_.get(), nq, x.data(), k, distances.Data(), labels.data())) {
      index_->search(nq, x.data(), k, distances.Data(), labels.data());
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
    expectArgs(info, 1);
    if (!info[0].IsString()) typeError(env, "Invalid the first argument type, must be a string.");
    const std::string fname = info[0].As<Napi::String>().Utf8Value();
    faiss::write_index(index_.get(), fname.c_str());
    return env.Undefined();
  }

  Napi::Value mergeFrom(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    expectArgs(info, 1);
    if (!info[0].IsObject()) typeError(env, "Invalid argument type, must be an object.");
    // only an index of this class: Unwrap would read any other wrapped object as one
    if (!info[0].As<Napi::Object>().InstanceOf((env.GetInstanceData<Constructors>()->*T::SLOT).Value())) {
      typeError(env, std::string("mergeFrom needs an ") + T::CLASS_NAME);
    }
    T *other = Napi::ObjectWrap<T>::Unwrap(info[0].As<Napi::Object>());
    if (other->index_->d != index_->d) fail(env, "invalid_argument", "The merging index must have the same dimension.");
    index_->merge_from(*(other->index_));
    return env.Undefined();
  }

  Napi::Value removeIds(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    expectArgs(info, 1);
    if (!info[0].IsArray()) typeError(env, "Invalid the first argument type, must be an Array.");
    auto arr = info[0].As<Napi::Array>();
    std::vector<idx_t> ids(arr.Length());
    for (size_t i = 0; i < ids.size(); i++) {
      Napi::Value v = arr[i];
      if (!v.IsNumber()) {
        typeError(env, "Expected a Number as array item. (at: " + std::to_string(i) + ")");
      }
      ids[i] = v.As<Napi::Number>().Int64Value();
    }
    const size_t removed = index_->remove_ids(faiss::IDSelectorArray(ids.size(), ids.data()));
    return Napi::Number::New(env, removed);
  }

  Napi::Value toBuffer(const Napi::CallbackInfo &info) {
    faiss::VectorIOWriter writer;
    faiss::write_index(index_.get(), &writer);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), writer.data.data(), writer.data.size());
  }

  // setParameter("efSearch", 128), setParameter("nprobe", 16): faiss::ParameterSpace names.
  Napi::Value setParameter(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      typeError(env, "setParameter(name: string, value: number)");
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    double value = info[1].As<Napi::Number>().DoubleValue();
    faiss::ParameterSpace().set_index_parameter(index_.get(), name, value);
    return env.Undefined();
  }

  // Every method through guarded(): N-API's own wrapper passes on only Napi::Error, and any other C++ exception
  // (std::bad_alloc from a copy of the arguments, a FaissException) would reach std::terminate.
  template <Napi::Value (IndexBase::*M)(const Napi::CallbackInfo &)>
  Napi::Value method(const Napi::CallbackInfo &info) {
    return guarded(info.Env(), [&] { return (this->*M)(info); });
  }
  template <Napi::Value (*F)(const Napi::CallbackInfo &)>
  static Napi::Value staticMethod(const Napi::CallbackInfo &info) {
    return guarded(info.Env(), [&] { return F(info); });
  }

  static std::vector<typename Napi::ObjectWrap<T>::PropertyDescriptor> methods() {
    using B = IndexBase;
    return {
        T::InstanceMethod("ntotal", &B::method<&B::ntotal>),
        T::InstanceMethod("getDimension", &B::method<&B::getDimension>),
        T::InstanceMethod("isTrained", &B::method<&B::isTrained>),
        T::InstanceMethod("add", &B::method<&B::add>),
        T::InstanceMethod("train", &B::method<&B::train>),
        T::InstanceMethod("search", &B::method<&B::search>),
        T::InstanceMethod("write", &B::method<&B::write>),
        T::InstanceMethod("mergeFrom", &B::method<&B::mergeFrom>),
        T::InstanceMethod("removeIds", &B::method<&B::removeIds>),
        T::InstanceMethod("toBuffer", &B::method<&B::toBuffer>),
        T::InstanceMethod("setParameter", &B::method<&B::setParameter>),
        T::StaticMethod("read", &B::staticMethod<&B::read>),
        T::StaticMethod("fromBuffer", &B::staticMethod<&B::fromBuffer>),
        T::StaticMethod("fromFactory", &B::staticMethod<&B::fromFactory>),
        T::StaticMethod("setThreads", &B::staticMethod<&B::setThreads>),
        T::StaticMethod("setPq4Scan", &B::staticMethod<&B::setPq4Scan>),
    };
  }

  static Napi::Object define(Napi::Env env, Napi::Object exports) {
    auto func = T::DefineClass(env, T::CLASS_NAME, methods());
    env.GetInstanceData<Constructors>()->*T::SLOT = Napi::Persistent(func);
    exports.Set(T::CLASS_NAME, func);
    return exports;
  }

 protected:
  // A JS object of class T around `idx` (which a read or a factory made): its constructor takes the index over.
  static Napi::Value wrap(Napi::Env env, std::unique_ptr<faiss::Index> idx) {
    if (!idx) fail(env, "faiss_error", "faiss returned no index");
    adopting = &idx;
    Napi::Object instance;
    try {
      instance = (env.GetInstanceData<Constructors>()->*T::SLOT).New({});
    } catch (...) {
      adopting = nullptr;
      throw;
    }
    adopting = nullptr;
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
