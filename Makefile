# SPDX-License-Identifier: GPL-2.0
#
# espx top-level Makefile. The two commands a user needs:
#   make demo    boot a VM, run traffic through espx SAs, show the state
#   make check   build everything and run every test on the kernel matrix
# See README for the rest.

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD ?= $(TOP)/build

# Kernel matrix: Debian 12's 6.1 and bookworm-backports' 6.12 (scripts/matrix.sh).
matrix = $(shell $(TOP)/scripts/matrix.sh)

# Default kernel: the running one if it has headers, else Debian's 6.1.
RUNNING := $(shell uname -r)
KVER ?= $(if $(wildcard /lib/modules/$(RUNNING)/build/Makefile),$(RUNNING),$(firstword $(matrix)))
KDIR ?= /lib/modules/$(KVER)/build

KMAKE = $(MAKE) -C $(KDIR) M=$(BUILD)/$(1)/src
SRC_FILES := Kbuild $(shell find net include -type f -name '*.[ch]' 2>/dev/null)

.PHONY: all module modules-all deps iproute2 unit fuzz check demo install clean \
	checkpatch sparse help matrix tools

all: module tools

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## make [KVER=...|KDIR=...]   build espx.ko for one kernel into build/<kver>/
module:
	@test -n "$(KVER)" -a -e "$(KDIR)/Makefile" || \
		{ echo "no kernel headers found (KVER='$(KVER)'); run 'make deps' as root"; exit 1; }
	@scripts/stage-src.sh $(BUILD)/$(KVER)/src $(SRC_FILES)
	$(call KMAKE,$(KVER)) W=1 modules
	@cp $(BUILD)/$(KVER)/src/espx.ko $(BUILD)/$(KVER)/espx.ko

## make modules-all           build espx.ko for every kernel of the matrix
modules-all:
	@for k in $(matrix); do $(MAKE) --no-print-directory module KVER=$$k || exit 1; done

matrix:
	@echo $(matrix)

## make deps                  install build/test dependencies (root, apt)
deps:
	scripts/deps.sh

## make iproute2              build the patched ip into build/iproute2/ip/ip
iproute2:
	bash tools/iproute2/build.sh $(BUILD)/iproute2

## make examples              build tools/examples (libmnl) into build/examples/
.PHONY: examples
examples: $(BUILD)/examples/espx-sa

$(BUILD)/examples/espx-sa: tools/examples/espx-sa.c include/uapi/linux/espx.h
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -I$(TOP)/include/uapi -o $@ $< -lmnl

## make tools                 build the user-space espx-echo into build/tools/
tools: $(BUILD)/tools/espx-echo

$(BUILD)/tools/espx-echo: tools/espx-echo/espx-echo.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $<

## make checkpatch / sparse   static checks on our sources
checkpatch:
	scripts/checkpatch.sh

sparse:
	@scripts/stage-src.sh $(BUILD)/$(KVER)/src $(SRC_FILES)
	$(call KMAKE,$(KVER)) C=2 W=1 modules

## make check [KVER=...] [T=test]   everything, or one kernel / one test
check:
	scripts/check.sh

## make check-debug [T=test]  every VM test on a debug 6.1 (KASAN, kmemleak, lockdep, UBSAN)
.PHONY: check-debug
check-debug:
	scripts/check-debug.sh

## make demo                  boot a VM and show traffic through espx SAs
demo:
	scripts/demo.sh

## make install               install espx.ko for KVER, keep esp4/esp6 away, and espx-echo
install: module tools
	ESPX_ECHO=$(BUILD)/tools/espx-echo scripts/install.sh $(KVER) $(BUILD)/$(KVER)/espx.ko

## make uninstall             undo make install: esp4/esp6 load again
.PHONY: uninstall dkms-install dkms-uninstall
uninstall:
	scripts/uninstall.sh $(KVER)

## make dkms-install [KVER=...]  espx under DKMS, with the modprobe.d file (root)
dkms-install:
	scripts/dkms-install.sh install $(KVER)

## make dkms-uninstall        remove espx from DKMS and the modprobe.d file
dkms-uninstall:
	scripts/dkms-install.sh uninstall $(KVER)

## make unit                  userspace unit tests of the codec (ASan/UBSan)
unit:
	$(MAKE) -C selftests/unit run

## make fuzz [FUZZ_SECONDS=N]  run every libFuzzer target for a bounded time
fuzz:
	$(MAKE) -C selftests/fuzz run

## make fuzz-long [FUZZ_RUNS=N] [T=fuzz_x]  10 M executions per codec fuzzer, seeded from the spec vectors
.PHONY: fuzz-long
fuzz-long:
	$(MAKE) -C selftests/fuzz long $(if $(T),FUZZ_TARGETS="$(T)")

## make fuzz-vm [KVER=...] [T=...]  long receive/netlink fuzzing and churn in the VM (not a test of make check)
.PHONY: fuzz-vm
fuzz-vm:
	$(if $(filter command line environment,$(origin KVER)),KVER=$(KVER)) scripts/fuzz-vm.sh

## make bench [KVER=...]      stock esp4/esp6 vs espx, side by side in one VM (not a test)
.PHONY: bench
bench:
	$(if $(filter command line environment,$(origin KVER)),KVER=$(KVER)) scripts/bench.sh

clean:
	rm -rf $(BUILD)
