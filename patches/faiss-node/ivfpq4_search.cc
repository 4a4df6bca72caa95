// lookalike: the search of an IVF-PQ index with 4-bit codes and inner product (lookalike's `ivf-pq` kind), for
// Debian's libfaiss 1.7.3. That build scans 4-bit codes with its generic bit-by-bit decoder (PQDecoderGeneric):
// 26.6 ms of a query at 1M vectors of 4096 dims, nprobe 16. This loop takes 16 codes per 64-bit load and sums their
// table entries into eight accumulators: 4.5 ms, 5.9x faster (bench/ivfpq-scan.ts; an AVX2 gather was slower).
// Same arithmetic as faiss' scanner (score = <query, centroid> + sum over sub-quantizers of <query part, code's
// centroid part>), same order of lists, same heap: the results equal faiss' own up to float rounding of the sum
// (test/million.test.ts compares them; `setPq4Scan(false)` switches back).
#include <faiss/IndexIVFPQ.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/Heap.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

namespace lookalike {

namespace {

bool enabled = true;

// Sum of the table entries a code names: byte b holds sub-quantizer 2b in its low nibble, 2b+1 in its high one
// (faiss' PQEncoderGeneric writes the low bits first), so on a little-endian CPU nibble j of a 64-bit load is
// sub-quantizer j. `table` is M rows of 16.
inline float pq4Score(const float* table, const uint8_t* code, size_t M) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t m = 0;
  for (; m + 16 <= M; m += 16, code += 8, table += 256) {
    uint64_t c;
    std::memcpy(&c, code, 8);  // 16 codes in one load (little-endian: the first byte's low nibble first)
    for (int j = 0; j < 16; j++) a[j & 7] += table[16 * j + ((c >> (4 * j)) & 15)];
  }
  for (; m < M; m++, table += 16) a[0] += table[(m & 1) ? (*code++ >> 4) : (*code & 15)];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// One query's top k over its nprobe lists (coarse scores and list ids in `coarseDis`, `coarseIds`) into D and I.
void scanQuery(const faiss::IndexIVFPQ& ivf, const float* query, faiss::Index::idx_t k, size_t nprobe,
               const float* coarseDis, const faiss::Index::idx_t* coarseIds, float* D, faiss::Index::idx_t* I) {
  using idx_t = faiss::Index::idx_t;
  const size_t M = ivf.pq.M, codeSize = ivf.code_size;
  // with inner product the code's table does not depend on the list: one per query
  std::vector<float> table(M * ivf.pq.ksub);
  ivf.pq.compute_inner_prod_table(query, table.data());
  faiss::minheap_heapify(k, D, I);
  for (size_t p = 0; p < nprobe; p++) {
    const idx_t list = coarseIds[p];
    if (list < 0) continue;
    const float dis0 = ivf.by_residual ? coarseDis[p] : 0;
    const size_t n = ivf.invlists->list_size(list);
    faiss::InvertedLists::ScopedCodes codes(ivf.invlists, list);
    faiss::InvertedLists::ScopedIds ids(ivf.invlists, list);
    for (size_t j = 0; j < n; j++) {
      const float s = dis0 + pq4Score(table.data(), codes.get() + j * codeSize, M);
      if (s > D[0]) faiss::minheap_replace_top(k, D, I, s, ids.get()[j]);
    }
  }
  faiss::minheap_reorder(k, D, I);
}

}  // namespace

void setPq4Scan(bool on) { enabled = on; }

// Searches `index` if it is an IVF-PQ this loop covers (returns false otherwise, and faiss' search is used).
bool searchIvfPq4(const faiss::Index* index, faiss::Index::idx_t nq, const float* x, faiss::Index::idx_t k, float* distances,
                  faiss::Index::idx_t* labels) {
  using idx_t = faiss::Index::idx_t;
  const auto* ivf = dynamic_cast<const faiss::IndexIVFPQ*>(index);
  const bool littleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;  // pq4Score's reading of a 64-bit load
  if (!enabled || !littleEndian || !ivf || typeid(*ivf) != typeid(faiss::IndexIVFPQ) || ivf->pq.nbits != 4 ||
      ivf->metric_type != faiss::METRIC_INNER_PRODUCT || ivf->polysemous_ht != 0) {
    return false;
  }
  const size_t nprobe = std::min(ivf->nprobe, ivf->nlist);
  std::vector<float> coarseDis(nq * nprobe);
  std::vector<idx_t> coarseIds(nq * nprobe);
  ivf->quantizer->search(nq, x, nprobe, coarseDis.data(), coarseIds.data());
  // An exception may not leave an OpenMP region (it would call std::terminate): each query catches its own, the
  // first is kept and thrown again after the region, where faiss-node's guard turns it into a JS error.
  std::exception_ptr failure;
#pragma omp parallel for if (nq > 1)
  for (idx_t q = 0; q < nq; q++) {
    try {
      scanQuery(*ivf, x + q * ivf->d, k, nprobe, coarseDis.data() + q * nprobe, coarseIds.data() + q * nprobe,
                distances + q * k, labels + q * k);
    } catch (...) {
#pragma omp critical(lookalike_pq4_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return true;
}

}  // namespace lookalike
