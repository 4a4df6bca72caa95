// lookalike: faiss's basic distance kernels with AVX2/FMA, for Debian's libfaiss 1.7.3, which was compiled without
// SIMD (plain scalar loops: several times slower than memory allows on 4096-d vectors).
// These definitions are linked into faiss-node.node ahead of libfaiss.a, so the archive's distances_simd object is
// never pulled in: every symbol of it that the rest of faiss references is defined here (a missing one would make
// the link fail with duplicate symbols, not misbehave). The CPU is checked at run time; without AVX2+FMA the
// scalar loops of the original are used. Semantics follow faiss 1.7.3's reference implementations.
#include <immintrin.h>

#include <cmath>
#include <cstddef>

namespace faiss {

namespace {

bool has_avx2() {
  static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  return yes;
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float inner_product_avx2(const float* x, const float* y, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
  }
  for (; i + 8 <= d; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
  float r = hsum(_mm256_add_ps(a0, a1));
  for (; i < d; i++) r += x[i] * y[i];
  return r;
}

__attribute__((target("avx2,fma"))) float l2sqr_avx2(const float* x, const float* y, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
  }
  for (; i + 8 <= d; i += 8) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
  }
  float r = hsum(_mm256_add_ps(a0, a1));
  for (; i < d; i++) r += (x[i] - y[i]) * (x[i] - y[i]);
  return r;
}

float inner_product_scalar(const float* x, const float* y, size_t d) {
  float r = 0;
  for (size_t i = 0; i < d; i++) r += x[i] * y[i];
  return r;
}

float l2sqr_scalar(const float* x, const float* y, size_t d) {
  float r = 0;
  for (size_t i = 0; i < d; i++) r += (x[i] - y[i]) * (x[i] - y[i]);
  return r;
}

size_t argmin(const float* v, size_t n) {
  size_t best = 0;
  float min = HUGE_VALF;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < min) {
      min = v[i];
      best = i;
    }
  }
  return best;
}

}  // namespace

float fvec_inner_product(const float* x, const float* y, size_t d) {
  return has_avx2() ? inner_product_avx2(x, y, d) : inner_product_scalar(x, y, d);
}

float fvec_L2sqr(const float* x, const float* y, size_t d) {
  return has_avx2() ? l2sqr_avx2(x, y, d) : l2sqr_scalar(x, y, d);
}

float fvec_norm_L2sqr(const float* x, size_t d) { return fvec_inner_product(x, x, d); }

float fvec_L1(const float* x, const float* y, size_t d) {
  float r = 0;
  for (size_t i = 0; i < d; i++) r += std::fabs(x[i] - y[i]);
  return r;
}

float fvec_Linf(const float* x, const float* y, size_t d) {
  float r = 0;
  for (size_t i = 0; i < d; i++) r = std::fmax(r, std::fabs(x[i] - y[i]));
  return r;
}

void fvec_inner_products_ny(float* ip, const float* x, const float* y, size_t d, size_t ny) {
  for (size_t i = 0; i < ny; i++) ip[i] = fvec_inner_product(x, y + i * d, d);
}

void fvec_L2sqr_ny(float* dis, const float* x, const float* y, size_t d, size_t ny) {
  for (size_t i = 0; i < ny; i++) dis[i] = fvec_L2sqr(x, y + i * d, d);
}

size_t fvec_L2sqr_ny_nearest(float* tmp, const float* x, const float* y, size_t d, size_t ny) {
  fvec_L2sqr_ny(tmp, x, y, d, ny);
  return argmin(tmp, ny);
}

size_t fvec_L2sqr_ny_nearest_y_transposed(float* tmp, const float* x, const float* y, const float* y_sqlen, size_t d, size_t d_offset, size_t ny) {
  const float x_sqlen = fvec_norm_L2sqr(x, d);
  for (size_t i = 0; i < ny; i++) {
    float dp = 0;
    for (size_t j = 0; j < d; j++) dp += x[j] * y[i + j * d_offset];
    tmp[i] = x_sqlen + y_sqlen[i] - 2 * dp;
  }
  return argmin(tmp, ny);
}

void fvec_madd(size_t n, const float* a, float bf, const float* b, float* c) {
  for (size_t i = 0; i < n; i++) c[i] = a[i] + bf * b[i];
}

int fvec_madd_and_argmin(size_t n, const float* a, float bf, const float* b, float* c) {
  float vmin = 1e20f;
  int imin = -1;
  for (size_t i = 0; i < n; i++) {
    c[i] = a[i] + bf * b[i];
    if (c[i] < vmin) {
      vmin = c[i];
      imin = static_cast<int>(i);
    }
  }
  return imin;
}

void fvec_add(size_t d, const float* a, const float* b, float* c) {
  for (size_t i = 0; i < d; i++) c[i] = a[i] + b[i];
}

void fvec_add(size_t d, const float* a, float b, float* c) {
  for (size_t i = 0; i < d; i++) c[i] = a[i] + b;
}

void fvec_sub(size_t d, const float* a, const float* b, float* c) {
  for (size_t i = 0; i < d; i++) c[i] = a[i] - b[i];
}

}  // namespace faiss
