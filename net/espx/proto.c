// SPDX-License-Identifier: GPL-2.0
/* placeholder: being written */
#include "espx.h"
int espx_proto_check_clash(void) { return 0; }
int espx_proto_init(void) { return 0; }
void espx_proto_exit(void) { }
