/* SPDX-License-Identifier: GPL-2.0 */
/*
 * km.c: an xfrm key-manager hook that sees every SA after the core is done
 * with it (NEWSA, UPDSA, NEWAE), to keep espx's replay-window rules where
 * init_state cannot look.
 */
#ifndef _ESPX_KM_H
#define _ESPX_KM_H

void espx_km_init(void);
void espx_km_exit(void);

#endif
