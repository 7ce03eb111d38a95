// SPANSTORE_EXPORT marks the public API: every class and free function declared in
// include/spanstore/. The library's own files are compiled with hidden visibility
// (-fvisibility=hidden -fvisibility-inlines-hidden), so a shared libspanstore.so exports these
// and nothing else: embedders cannot come to depend on the internals (block format, WAL,
// indexes), which may then change in any release, and the dynamic symbol table stays small.
//
// The macro means the same whether the library is static or shared, being built or being used,
// so no -D flag has to reach an embedder through the CMake package or the pkg-config file: on
// ELF, default visibility is what the embedder's own declarations have anyway. In the static
// library the API keeps default visibility and the internals are hidden, so an embedder that
// links it into a shared object of its own does not export spanstore's internals either.
//
// SPANSTORE_NO_EXPORT keeps a member type of an exported class internal, such as a pimpl's
// private State: a nested class otherwise takes the visibility of the class around it.
//
// GCC and Clang on ELF platforms only (the Env is POSIX); elsewhere the macros are empty.

#ifndef SPANSTORE_EXPORT_H_
#define SPANSTORE_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define SPANSTORE_EXPORT __attribute__((visibility("default")))
#define SPANSTORE_NO_EXPORT __attribute__((visibility("hidden")))
#else
#define SPANSTORE_EXPORT
#define SPANSTORE_NO_EXPORT
#endif

#endif  // SPANSTORE_EXPORT_H_
