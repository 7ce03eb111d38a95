// A fixture for the layering check's own test: the engine may include the format layer.
#include "format/block_reader.h"
#include "spanstore/store.h"
#include "absl/status/status.h"
