// Decoding into objects that already hold a previous value, reusing their buffers: the
// OtlpProtoDecoder refills the spans it handed out last time, so strings are overwritten in
// place and vectors are refilled element by element, then cut to length.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_FORMATS_REFILL_H_
#define SPANSTORE_FORMATS_REFILL_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/attributes.h"
#include "spanstore/span.h"

namespace spanstore::otlp {

// The object at index (*n)++ of *v, appended when v has none there yet.
template <typename T>
T& NextSlot(std::vector<T>* v, size_t* n) {
  if (*n == v->size()) v->emplace_back();
  return (*v)[(*n)++];
}

// Cuts *v to the n elements refilled this time.
template <typename T>
void Truncate(std::vector<T>* v, size_t n) {
  if (n < v->size()) v->erase(v->begin() + n, v->end());
}

// Copies n bytes, short runs with overlapping word moves rather than a call into libc: most
// keys and values are under 32 bytes. All loads precede the stores, so overlap is harmless.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n > 32) {
    std::memmove(dst, src, n);
  } else if (n >= 16) {
    char a[16], b[16];
    std::memcpy(a, src, 16);
    std::memcpy(b, src + n - 16, 16);
    std::memcpy(dst, a, 16);
    std::memcpy(dst + n - 16, b, 16);
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    const char a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  }
}

// dst->assign(v) for refilled strings, which mostly have the capacity already: copies in place
// and moves the terminator instead of going through assign's general path.
// REQUIRES: v does not point into *dst (unless it is all of it).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Assign(std::string* dst, std::string_view v) {
  const size_t n = v.size(), old = dst->size();
  if (n <= old) {
    CopyBytes(dst->data(), v.data(), n);
    if (n < old) dst->resize(n);
  } else if (n <= dst->capacity()) {
    CopyBytes(dst->data(), v.data(), old);
    dst->append(v.data() + old, n - old);
  } else {
    dst->assign(v.data(), v.size());
  }
}

// value->set_string(v), by Assign when it holds a string already.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void AssignString(AnyValue* value, std::string_view v) {
  if (value->type() == AnyValue::Type::kString) {
    Assign(&value->mutable_string(), v);
  } else {
    value->set_string(v);
  }
}

// Makes *dst equal to the first n elements of src, element by element, so that strings of the
// same length are overwritten in place (vector and variant assignment would go through their
// generic paths). REQUIRES: n <= src.size().
inline void CopyAttributes(const Attributes& src, size_t n, Attributes* dst) {
  const size_t common = std::min(n, dst->size());
  for (size_t i = 0; i < common; ++i) {
    KeyValue& d = (*dst)[i];
    Assign(&d.key, src[i].key);
    if (src[i].value.type() == AnyValue::Type::kString) {
      AssignString(&d.value, src[i].value.string_value());
    } else {
      d.value = src[i].value;
    }
  }
  if (n > common) {
    dst->insert(dst->end(), src.begin() + common, src.begin() + n);
  } else {
    Truncate(dst, n);
  }
}

}  // namespace spanstore::otlp

#endif  // SPANSTORE_FORMATS_REFILL_H_
