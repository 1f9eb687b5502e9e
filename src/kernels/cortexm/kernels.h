// All Cortex-M int8 kernels (see each header for its shape members and packed layouts).
#pragma once

#include "kernels/cortexm/add.h"
#include "kernels/cortexm/conv.h"
#include "kernels/cortexm/depthwise.h"
#include "kernels/cortexm/fully_connected.h"
#include "kernels/cortexm/pooling.h"
#include "kernels/cortexm/pq_conv.h"
#include "kernels/cortexm/pq_fully_connected.h"
#include "kernels/cortexm/sparse_conv.h"
#include "kernels/cortexm/sparse_fully_connected.h"
#include "kernels/cortexm/sparse_unrolled.h"
