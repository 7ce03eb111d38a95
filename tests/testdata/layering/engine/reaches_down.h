// A fixture for the layering check's own test: the engine may include the format layer.
#include "absl/status/status.h"
#include "format/block_reader.h"
#include "spanstore/store.h"
