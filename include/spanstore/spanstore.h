// The umbrella header: everything an embedder needs.
#ifndef SPANSTORE_SPANSTORE_H_
#define SPANSTORE_SPANSTORE_H_

#include "spanstore/analysis.h"
#include "spanstore/dependencies.h"
#include "spanstore/env.h"
#include "spanstore/formats.h"
#include "spanstore/jaeger.h"
#include "spanstore/loader.h"
#include "spanstore/options.h"
#include "spanstore/otlp_http.h"
#include "spanstore/otlp_proto.h"
#include "spanstore/query.h"
#include "spanstore/span.h"
#include "spanstore/stats.h"
#include "spanstore/store.h"
#include "spanstore/tempo.h"
#include "spanstore/timestamp.h"
#include "spanstore/traceql.h"
#include "spanstore/traceql_metrics.h"
#include "spanstore/validation.h"
#include "spanstore/verify.h"

#endif  // SPANSTORE_SPANSTORE_H_
