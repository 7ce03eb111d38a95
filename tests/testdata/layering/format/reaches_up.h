// A fixture for the layering check's own test: the format layer may not include the engine.
#include "engine/store_impl.h"
