// SPDX-License-Identifier: GPL-2.0
/* placeholder: being written */
#include "espx.h"
int espx_genl_init(void) { return 0; }
void espx_genl_exit(void) { }
