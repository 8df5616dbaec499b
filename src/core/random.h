// A small, fast, seedable PRNG (splitmix64) shared by the loop's objects;
// 10,000 checks must not each carry a 2.5 KiB Mersenne twister.
#ifndef WATCHD_CORE_RANDOM_H_
#define WATCHD_CORE_RANDOM_H_

#include <cstdint>

namespace watchd {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace watchd

#endif  // WATCHD_CORE_RANDOM_H_
