# cabin: one non-recursive Makefile. `make` installs what is missing, fetches and builds
# the pinned dependencies, builds cabind (static, musl), the host CLI cabin, and the image.
# `make test` runs every test; `make check` the fast unit tests; `make bench` benchmarks.

BUILD      := build
VERSION    := 0.1.0
GITREV     := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
CABIN_VERSION := $(VERSION)$(if $(GITREV),+g$(GITREV))
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1700000000)
export SOURCE_DATE_EPOCH

CC         := gcc
MUSLCC     := musl-gcc
# -Wformat-truncation guesses at every bounded snprintf into a path buffer (Linux turns it
# off too); where truncation would change meaning, the code checks the return value.
WARN       := -Wall -Wextra -Werror -Wno-format-truncation
DEFS       := -std=c11 -D_GNU_SOURCE
REPRO      := -ffile-prefix-map=$(CURDIR)/=
CFLAGS     := -O2 -g $(WARN) $(DEFS) $(REPRO)
SANFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined $(WARN) $(DEFS)
MUSLFLAGS  := -Os $(WARN) $(DEFS) $(REPRO) -ffunction-sections -fdata-sections \
              -isystem $(BUILD)/musl/kinc -isystem $(BUILD)/musl/include
MUSLLD     := -static -s -Wl,--gc-sections

# ---- sources -------------------------------------------------------------------------
LIB_SRCS   := lib/log.c lib/ev.c lib/version.c lib/fsutil.c
HTTP_SRCS  := lib/http.c
INIT_SRCS  := $(wildcard init/*.c)
IMG_SRCS   := $(filter-out image/cabin.c image/upload%,$(wildcard image/*.c))
QEMU_SRCS  := $(wildcard qemu/*.c)
NET_SRCS   := $(wildcard net/*.c)
KV_SRCS    := $(wildcard kv/*.c)
# cabin upload, and the configuration parsers of init/ it shares (clouds.yaml, JSON)
UPLOAD_SRCS := $(wildcard image/upload*.c)
CFG_SRCS   := init/config_tree.c init/config_yaml.c init/config_json.c init/config_diag.c \
              init/nodeconfig.c init/base64.c
CABIN_SRCS := image/cabin.c $(IMG_SRCS) $(QEMU_SRCS) $(LIB_SRCS) $(UPLOAD_SRCS) $(CFG_SRCS)

musl_obj   = $(patsubst %.c,$(BUILD)/obj/musl/%.o,$(1))
host_obj   = $(patsubst %.c,$(BUILD)/obj/host/%.o,$(1))
san_obj    = $(patsubst %.c,$(BUILD)/obj/san/%.o,$(1))

# ---- set-up: Debian packages, pinned sources, kernel ------------------------------------
DEPS       := $(shell awk '!/^[[:space:]]*(\#|$$)/ { print $$1 }' appliance/sources.lock)
DEP_STAMPS := $(DEPS:%=$(BUILD)/musl/stamp/%)
PKG_STAMP  := $(BUILD)/stamp/packages
TEST_PKG_STAMP := $(BUILD)/stamp/test-packages
KERNEL_STAMP := $(BUILD)/kernel/.stamp

.PHONY: all setup deps kernel image check test bench fuzz clean distclean FORCE
.DEFAULT_GOAL := all

all: $(BUILD)/cabind $(BUILD)/cabin $(BUILD)/cabin.qcow2

setup: $(PKG_STAMP)
deps: $(DEP_STAMPS)
kernel: $(KERNEL_STAMP)
image: $(BUILD)/cabin.qcow2

$(PKG_STAMP): appliance/packages.txt appliance/install-packages.sh
	appliance/install-packages.sh
	@mkdir -p $(@D) && touch $@

# The real peers the tests run against (etcd, its clients, ...): installed by `make test`.
$(TEST_PKG_STAMP): appliance/test-packages.txt appliance/install-packages.sh
	appliance/install-packages.sh appliance/test-packages.txt
	@mkdir -p $(@D) && touch $@

# deps.sh does nothing when a stamp's inputs are unchanged; make only asks.
$(BUILD)/musl/stamp/%: appliance/sources.lock appliance/deps.sh | $(PKG_STAMP)
	+appliance/deps.sh build $*

$(BUILD)/musl/stamp/curl: $(BUILD)/musl/stamp/mbedtls $(BUILD)/musl/stamp/nghttp2

$(KERNEL_STAMP): appliance/kernel.lock appliance/deps.sh | $(PKG_STAMP)
	appliance/deps.sh kernel

# The version reaches only lib/version.c; its stamp changes when the string does.
VERSION_STAMP := $(BUILD)/stamp/version
$(VERSION_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CABIN_VERSION)' | cmp -s - $@ || echo '$(CABIN_VERSION)' >$@
FORCE:
$(foreach k,musl host san,$(BUILD)/obj/$(k)/lib/version.o): $(VERSION_STAMP)
$(foreach k,musl host san,$(BUILD)/obj/$(k)/lib/version.o): VERDEF := \
	-DCABIN_VERSION='"$(CABIN_VERSION)"'
$(BUILD)/obj/musl/lib/version.o: MUSLFLAGS += $(VERDEF)
$(BUILD)/obj/host/lib/version.o: CFLAGS += $(VERDEF)
$(BUILD)/obj/san/lib/version.o: SANFLAGS += $(VERDEF)

# ---- the pinned libraries for host-side tests ---------------------------------------------
# Unit tests run on the host (glibc, sanitizers) against the same pinned libyaml and cJSON
# sources that cabind links, compiled again for the host.
# (`cabin upload` reads clouds.yaml and JSON with the same parsers: HOSTREL holds the two
# libraries compiled for the release build of the host CLI.)
HOSTDEPS   := $(BUILD)/hostdeps
HOSTDEP_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -w
HOSTREL    := $(BUILD)/hostrel
# host_parsers DIR CFLAGS: DIR/libyaml.a and DIR/libcjson.a from the pinned sources
define host_parsers
$(1)/libyaml.a: $(BUILD)/musl/stamp/libyaml
	@rm -rf $(1)/yaml && mkdir -p $(1)/yaml
	cd $(1)/yaml && for f in $(CURDIR)/$(BUILD)/src/libyaml-*/src/*.c; do \
		$(CC) $(2) -DYAML_VERSION_MAJOR=0 -DYAML_VERSION_MINOR=2 \
		-DYAML_VERSION_PATCH=5 -DYAML_VERSION_STRING='"0.2.5"' \
		-I$(CURDIR)/$(BUILD)/musl/include -c $$$$f || exit 1; done
	ar rcs $$@ $(1)/yaml/*.o
$(1)/libcjson.a: $(BUILD)/musl/stamp/cjson
	@mkdir -p $(1)/cjson
	$(CC) $(2) -c -o $(1)/cjson/cJSON.o $(BUILD)/src/cjson-*/cJSON.c
	ar rcs $$@ $(1)/cjson/cJSON.o
endef
$(eval $(call host_parsers,$(HOSTDEPS),$(HOSTDEP_CFLAGS)))
$(eval $(call host_parsers,$(HOSTREL),-O2 -w))
$(HOSTDEPS)/libnghttp2.a: $(BUILD)/musl/stamp/nghttp2
	@rm -rf $(HOSTDEPS)/nghttp2 && mkdir -p $(HOSTDEPS)/nghttp2
	cd $(HOSTDEPS)/nghttp2 && for f in $(CURDIR)/$(BUILD)/src/nghttp2-*/lib/*.c; do \
		$(CC) $(HOSTDEP_CFLAGS) -DHAVE_ARPA_INET_H -DHAVE_NETINET_IN_H \
		-I$(CURDIR)/$(BUILD)/musl/include -c $$f || exit 1; done
	ar rcs $@ $(HOSTDEPS)/nghttp2/*.o
# mbedtls (TLS on the KV port) as one archive of its three libraries.
$(HOSTDEPS)/libmbedtls.a: $(BUILD)/musl/stamp/mbedtls
	@rm -rf $(HOSTDEPS)/mbedtls && mkdir -p $(HOSTDEPS)/mbedtls
	cd $(HOSTDEPS)/mbedtls && for f in $(CURDIR)/$(BUILD)/src/mbedtls-*/library/*.c; do \
		$(CC) $(HOSTDEP_CFLAGS) -I$(CURDIR)/$(BUILD)/musl/include -c $$f || exit 1; done
	ar rcs $@ $(HOSTDEPS)/mbedtls/*.o
HOSTDEP_LIBS := $(HOSTDEPS)/libyaml.a $(HOSTDEPS)/libcjson.a $(HOSTDEPS)/libnghttp2.a \
                $(HOSTDEPS)/libmbedtls.a
# cabind's own libraries (static, musl), in link order.
CABIND_LIBS := -L$(BUILD)/musl/lib -lyaml -lcjson -lcurl -lnghttp2 -lmbedtls -lmbedx509 -lmbedcrypto
# Host builds of lib/http.c (unit tests, the sanitized cabind) use Debian's libcurl.
HOST_CURL := -lcurl

# ---- cabind: static, musl, stripped ---------------------------------------------------
$(BUILD)/obj/musl/%.o: %.c | $(DEP_STAMPS)
	@mkdir -p $(@D)
	$(MUSLCC) $(MUSLFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/cabind: $(call musl_obj,$(INIT_SRCS) $(NET_SRCS) $(KV_SRCS) $(LIB_SRCS) $(HTTP_SRCS)) \
		$(DEP_STAMPS)
	$(MUSLCC) $(MUSLFLAGS) $(MUSLLD) -o $@ $(filter %.o,$^) $(CABIND_LIBS)

# ---- cabin: the host CLI --------------------------------------------------------------
$(BUILD)/obj/host/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# the configuration parsers include libyaml's and cJSON's headers from the pinned sources
$(call host_obj,$(CFG_SRCS)): CFLAGS += -I$(BUILD)/musl/include
$(call host_obj,$(CFG_SRCS)): | $(DEP_STAMPS)

$(BUILD)/cabin: $(call host_obj,$(CABIN_SRCS)) $(HOSTREL)/libyaml.a $(HOSTREL)/libcjson.a
	$(CC) $(CFLAGS) -o $@ $^ $(HOST_CURL)

# ---- the image ------------------------------------------------------------------------
$(BUILD)/cabin.qcow2: $(BUILD)/cabin $(BUILD)/cabind $(KERNEL_STAMP) appliance/modules.txt
	$(BUILD)/cabin build --output $@ --cabind $(BUILD)/cabind \
		--kernel-root $(BUILD)/kernel --module-list appliance/modules.txt

# ---- tests ----------------------------------------------------------------------------
# Unit tests link the real objects, built with ASan and UBSan; integration tests drive
# sanitized builds of cabin and cabind (host) plus the real image.
$(BUILD)/obj/san/%.o: %.c | $(DEP_STAMPS)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -I$(BUILD)/musl/include -MMD -MP -c -o $@ $<

UNIT_TESTS := $(patsubst tests/unit/%_test.c,$(BUILD)/test/unit/%_test,\
                $(wildcard tests/unit/*/*_test.c))
UNIT_HELPERS = $(call san_obj,$(filter-out %_test.c,$(wildcard tests/unit/$(1)/*.c)) tests/unit/transcript.c)
UNIT_DEPS_image := $(call san_obj,$(IMG_SRCS) $(LIB_SRCS))
UNIT_DEPS_init  := $(call san_obj,$(filter-out init/main.c,$(INIT_SRCS)) $(NET_SRCS) $(KV_SRCS) $(LIB_SRCS) $(HTTP_SRCS) \
                     tests/unit/image/imgtest.c) $(HOSTDEP_LIBS)
UNIT_DEPS_lib   := $(call san_obj,$(LIB_SRCS) $(HTTP_SRCS))
UNIT_DEPS_qemu  := $(call san_obj,$(QEMU_SRCS) $(IMG_SRCS) $(LIB_SRCS))
UNIT_DEPS_net   := $(call san_obj,$(NET_SRCS) $(LIB_SRCS))
UNIT_DEPS_upload := $(call san_obj,$(UPLOAD_SRCS) $(CFG_SRCS) $(IMG_SRCS) $(LIB_SRCS)) \
                     $(HOSTDEPS)/libyaml.a $(HOSTDEPS)/libcjson.a
UNIT_DEPS_kv    := $(call san_obj,$(KV_SRCS) $(LIB_SRCS)) $(HOSTDEPS)/libnghttp2.a \
                     $(HOSTDEPS)/libcjson.a $(HOSTDEPS)/libmbedtls.a

# Keep test objects: they are intermediate files of the chained rules.
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/test/unit/%_test: $(BUILD)/obj/san/tests/unit/%_test.o \
		$$(UNIT_DEPS_$$(firstword $$(subst /, ,$$*))) \
		$$(call UNIT_HELPERS,$$(firstword $$(subst /, ,$$*)))
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(HOST_CURL)

$(BUILD)/test/cabin: $(call san_obj,$(CABIN_SRCS)) $(HOSTDEPS)/libyaml.a $(HOSTDEPS)/libcjson.a
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(HOST_CURL)

$(BUILD)/test/cabind: $(call san_obj,$(INIT_SRCS) $(NET_SRCS) $(KV_SRCS) $(LIB_SRCS) $(HTTP_SRCS)) \
		$(HOSTDEP_LIBS)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(HOST_CURL)

check: $(UNIT_TESTS)
	@tests/run.sh unit $(UNIT_TESTS)

test: all $(TEST_PKG_STAMP) $(UNIT_TESTS) $(BUILD)/test/cabin $(BUILD)/test/cabind
	@tests/run.sh all $(UNIT_TESTS) $(sort $(filter-out %/lib.sh %/openstack.sh,$(wildcard tests/integration/*.sh)))

bench: all $(TEST_PKG_STAMP) $(BUILD)/bench/kvload
	@tests/bench/run.sh

# The KV put load generator (static, musl, on the pinned nghttp2).
$(BUILD)/bench/kvload: tests/bench/kvload.c $(DEP_STAMPS)
	@mkdir -p $(@D)
	$(MUSLCC) -O2 $(WARN) $(DEFS) -isystem $(BUILD)/musl/kinc -isystem $(BUILD)/musl/include \
		-static -o $@ $< -L$(BUILD)/musl/lib -lnghttp2

# ---- fuzzing: clang + libFuzzer, FUZZ_TIME seconds per driver ---------------------------
# clang rejects -Wno-format-truncation under -Werror, hence the flags of its own.
FUZZ_CC    := clang
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TIME  ?= 60
$(BUILD)/fuzz/dhcp_fuzz: tests/fuzz/dhcp_fuzz.c $(filter-out net/dhcpc.%,$(wildcard net/dhcp*.c net/dhcp*.h))
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
fuzz-dhcp: $(BUILD)/fuzz/dhcp_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/dhcp
	$< -max_total_time=$(FUZZ_TIME) -max_len=1500 -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus/dhcp tests/fuzz/corpus/dhcp
fuzz: fuzz-dhcp
.PHONY: fuzz fuzz-dhcp

# The protobuf layer of the KV server (pure: kv/pb.c and the message codecs only).
$(BUILD)/fuzz/pb_fuzz: tests/fuzz/pb_fuzz.c kv/pb.c kv/pb.h $(wildcard kv/msg*.c kv/msg*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
fuzz-pb: $(BUILD)/fuzz/pb_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/pb
	$< -max_total_time=$(FUZZ_TIME) -max_len=4096 -artifact_prefix=$(BUILD)/fuzz/pb- \
		$(BUILD)/fuzz/corpus/pb tests/fuzz/corpus/pb
fuzz: fuzz-pb
.PHONY: fuzz-pb

# The write-ahead log's codec and replay (pure: kv/wal_* but the file shell, and the store).
WAL_FUZZ_SRCS := $(filter-out kv/wal_file.c kv/wal_place.c,$(wildcard kv/wal_*.c)) \
                 $(wildcard kv/mvcc*.c kv/wal.h kv/mvcc*.h)
$(BUILD)/fuzz/wal_fuzz: tests/fuzz/wal_fuzz.c $(WAL_FUZZ_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
fuzz-wal: $(BUILD)/fuzz/wal_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/wal
	$< -max_total_time=$(FUZZ_TIME) -max_len=8192 -artifact_prefix=$(BUILD)/fuzz/wal- \
		$(BUILD)/fuzz/corpus/wal tests/fuzz/corpus/wal
fuzz: fuzz-wal
.PHONY: fuzz-wal

# The JSON gateway's HTTP/1.1 request parsing (pure: kv/http1.c only).
$(BUILD)/fuzz/http1_fuzz: tests/fuzz/http1_fuzz.c kv/http1.c kv/http1.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
fuzz-http1: $(BUILD)/fuzz/http1_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/http1
	$< -max_total_time=$(FUZZ_TIME) -max_len=4096 -artifact_prefix=$(BUILD)/fuzz/http1- \
		$(BUILD)/fuzz/corpus/http1 tests/fuzz/corpus/http1
fuzz: fuzz-http1
.PHONY: fuzz-http1

# The JSON gateway's JSON<->protobuf mapping, with the pinned cJSON built for the fuzzer.
$(BUILD)/fuzz/jsonpb_fuzz: tests/fuzz/jsonpb_fuzz.c kv/jsonpb.c kv/jsonpb.h kv/pb.c kv/pb.h \
		$(BUILD)/fuzz/libcjson.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(BUILD)/musl/include -o $@ $(filter %.c %.a,$^)
fuzz-jsonpb: $(BUILD)/fuzz/jsonpb_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/jsonpb
	$< -max_total_time=$(FUZZ_TIME) -max_len=4096 -artifact_prefix=$(BUILD)/fuzz/jsonpb- \
		$(BUILD)/fuzz/corpus/jsonpb tests/fuzz/corpus/jsonpb
fuzz: fuzz-jsonpb
.PHONY: fuzz-jsonpb

# The gRPC server's HTTP/2 side over a socket pair, with the pinned nghttp2 built for the
# fuzzer.
$(BUILD)/fuzz/libnghttp2.a: $(BUILD)/musl/stamp/nghttp2
	@rm -rf $(BUILD)/fuzz/nghttp2 && mkdir -p $(BUILD)/fuzz/nghttp2
	cd $(BUILD)/fuzz/nghttp2 && for f in $(CURDIR)/$(BUILD)/src/nghttp2-*/lib/*.c; do \
		$(FUZZ_CC) $(FUZZ_LIBFLAGS) -DHAVE_ARPA_INET_H -DHAVE_NETINET_IN_H \
		-I$(CURDIR)/$(BUILD)/musl/include -c $$f || exit 1; done
	ar rcs $@ $(BUILD)/fuzz/nghttp2/*.o
$(BUILD)/fuzz/grpc_fuzz: tests/fuzz/grpc_fuzz.c kv/grpc.c kv/grpc_call.c kv/grpc_stats.c kv/grpc_local.c \
		kv/grpc.h kv/tport.c kv/grpc_int.h lib/asan.h lib/ev.c lib/log.c $(BUILD)/fuzz/libnghttp2.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(BUILD)/musl/include -o $@ tests/fuzz/grpc_fuzz.c \
		kv/grpc_call.c kv/grpc_stats.c kv/grpc_local.c kv/tport.c lib/ev.c lib/log.c \
		$(BUILD)/fuzz/libnghttp2.a
fuzz-grpc: $(BUILD)/fuzz/grpc_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/grpc
	$< -max_total_time=$(FUZZ_TIME) -max_len=8192 -artifact_prefix=$(BUILD)/fuzz/grpc- \
		$(BUILD)/fuzz/corpus/grpc tests/fuzz/corpus/grpc
fuzz: fuzz-grpc
.PHONY: fuzz-grpc

# The configuration parsers (pure: no cabind.h) with the pinned libyaml and cJSON, rebuilt
# for the fuzzer with coverage instrumentation so that it steers through their branches too.
CONFIG_SRCS := $(addprefix init/,nodeconfig.c config_diag.c config_dump.c config_tree.c \
               config_yaml.c config_json.c config_walk.c config_check.c cloudconfig.c \
               writefiles.c cabinconf.c userdata.c userdata_mime.c metadata.c inflate.c \
               base64.c netconfig.c netconfig_value.c netconfig_openstack.c netconfig_nocloud.c \
               netconfig_v2.c)
CONFIG_FUZZERS := userdata metadata inflate netconfig
FUZZ_LIBFLAGS := -g -O1 -w -fsanitize=fuzzer-no-link,address,undefined
$(BUILD)/fuzz/libyaml.a: $(BUILD)/musl/stamp/libyaml
	@rm -rf $(BUILD)/fuzz/yaml && mkdir -p $(BUILD)/fuzz/yaml
	cd $(BUILD)/fuzz/yaml && for f in $(CURDIR)/$(BUILD)/src/libyaml-*/src/*.c; do \
		$(FUZZ_CC) $(FUZZ_LIBFLAGS) -DYAML_VERSION_MAJOR=0 -DYAML_VERSION_MINOR=2 \
		-DYAML_VERSION_PATCH=5 -DYAML_VERSION_STRING='"0.2.5"' \
		-I$(CURDIR)/$(BUILD)/musl/include -c $$f || exit 1; done
	ar rcs $@ $(BUILD)/fuzz/yaml/*.o
$(BUILD)/fuzz/libcjson.a: $(BUILD)/musl/stamp/cjson
	@mkdir -p $(BUILD)/fuzz/cjson
	$(FUZZ_CC) $(FUZZ_LIBFLAGS) -c -o $(BUILD)/fuzz/cjson/cJSON.o $(BUILD)/src/cjson-*/cJSON.c
	ar rcs $@ $(BUILD)/fuzz/cjson/cJSON.o
$(CONFIG_FUZZERS:%=$(BUILD)/fuzz/%_fuzz): $(BUILD)/fuzz/%_fuzz: tests/fuzz/%_fuzz.c \
		$(CONFIG_SRCS) $(wildcard init/config*.h init/inflate.h) \
		$(BUILD)/fuzz/libyaml.a $(BUILD)/fuzz/libcjson.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(BUILD)/musl/include -o $@ $(filter %.c %.a,$^)
$(CONFIG_FUZZERS:%=fuzz-%): fuzz-%: $(BUILD)/fuzz/%_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus/$*
	$< -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
		-artifact_prefix=$(BUILD)/fuzz/$*- $(BUILD)/fuzz/corpus/$* tests/fuzz/corpus/$*
fuzz: $(CONFIG_FUZZERS:%=fuzz-%)
.PHONY: $(CONFIG_FUZZERS:%=fuzz-%)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/test $(BUILD)/fuzz $(BUILD)/cabind $(BUILD)/cabin \
		$(BUILD)/cabin.qcow2 $(BUILD)/cabin.manifest.json

# Also forgets fetched sources, built dependencies, the kernel and node state.
distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
