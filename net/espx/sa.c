// SPDX-License-Identifier: GPL-2.0
/* placeholder: being written */
#include "espx.h"
int espx_sa_init(void) { return 0; }
void espx_sa_exit(void) { }
