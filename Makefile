# Lamina build.  Needs a C11 compiler, make, libm, OpenMP and zlib.
#   make            liblamina.a, liblamina.so and the lamina command
#   make run        train the default model on the shipped digits set
#   make test       build and run the whole test suite
#   make check      the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks against PyTorch (needs python3-torch for the peer side)
#   make bench-mpi  2 ranks x 1 thread against 1 rank x 2 threads (needs Open MPI)
#   make BLAS=openblas ...   use OpenBLAS for GEMM instead of Lamina's own kernels
#   make MPI=1 ...  data-parallel training over Open MPI (mpirun -np N lamina train ...)
#   make install [PREFIX=/usr/local] [DESTDIR=]   headers, libraries, lamina,
#                   lamina.pc and the man page; make uninstall removes them

CC      ?= cc
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
WARN     = -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter
# Not fast-math: IEEE semantics are kept.  -fno-math-errno only stops libm
# calls from setting errno (we never read it), which lets sqrtf vectorise;
# -fno-trapping-math says no floating-point trap is ever enabled (none is),
# which lets GCC turn the selects of our exp/tanh/erfc into blends and so
# vectorise the cell and transformer kernels.  Neither changes a result.
FPFLAGS  = -fno-math-errno -fno-trapping-math
CPPFLAGS = -Iinclude -Isrc -D_GNU_SOURCE
LDLIBS   = -lz -lm
OMPFLAG  = -fopenmp
BUILD   ?= build

# make MPI=1: data-parallel training over Open MPI (compiled with its mpicc)
ifeq ($(MPI),1)
MPICC ?= mpicc
ifeq ($(shell command -v $(MPICC) 2>/dev/null),)
$(error make MPI=1 needs Open MPI's compiler wrapper '$(MPICC)': on Debian, apt-get install libopenmpi-dev openmpi-bin)
endif
CC := $(MPICC)
CPPFLAGS += -DLAM_USE_MPI
LIBS_MPI := $(shell $(MPICC) -showme:link 2>/dev/null)
endif

ifeq ($(BLAS),openblas)
CPPFLAGS += -DLAM_USE_OPENBLAS $(shell pkg-config --cflags openblas 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
endif

ALL_CFLAGS = $(WARN) $(CFLAGS) $(FPFLAGS) $(OMPFLAG) -fPIC $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(OMPFLAG) $(LDFLAGS) $(EXTRA_LDFLAGS)

LIB_SRC  = $(wildcard src/*/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC  = $(wildcard cli/*.c)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_SRC = $(wildcard examples/*.c)
EXAMPLE_BIN = $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

# The version is LAMINA_VERSION of the umbrella header.  The shared
# library's SONAME carries the ABI version: the major number, and while it is
# 0 the minor too (0.x releases may change the ABI), so liblamina.so.0.1.
VERSION := $(shell sed -n 's/^\#define LAMINA_VERSION "\(.*\)"/\1/p' include/lamina/lamina.h)
VMAJOR  := $(word 1,$(subst ., ,$(VERSION)))
VMINOR  := $(word 2,$(subst ., ,$(VERSION)))
SOVERSION := $(if $(filter 0,$(VMAJOR)),$(VMAJOR).$(VMINOR),$(VMAJOR))
SONAME  := liblamina.so.$(SOVERSION)

.PHONY: all run test check bench bench-mpi examples clean install uninstall
all: $(BUILD)/liblamina.a $(BUILD)/liblamina.so $(BUILD)/lamina lamina

# Objects depend on the compiler command line: changing a flag (here or on
# the make command line) rebuilds them.
FLAGS_STAMP = $(BUILD)/.flags
FLAGS_NOW = $(CC) $(CPPFLAGS) $(ALL_CFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then echo '$(FLAGS_NOW)' > $@; fi
.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liblamina.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared library exports the functions of the public headers and
# nothing else (a version script made from include/lamina/*.h); the internal
# lam_*_ helpers and the kernels stay inside.
$(BUILD)/lamina.map: $(wildcard include/lamina/*.h) Makefile
	@mkdir -p $(BUILD)
	@{ echo '/* made by the Makefile from include/lamina/*.h: the exported functions */'; \
	   echo '{'; echo '  global:'; \
	   grep -hoE '\blam_[a-z0-9_]+ *\(' include/lamina/*.h | sed -E 's/ *\($$/;/; s/^/    /' | sort -u; \
	   echo '  local: *;'; echo '};'; } > $@

$(BUILD)/liblamina.so: $(LIB_OBJ) $(BUILD)/lamina.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/lamina.map $(ALL_LDFLAGS) -o $@ \
	  $(LIB_OBJ) $(LDLIBS)

$(BUILD)/lamina: $(CLI_OBJ) $(BUILD)/liblamina.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/liblamina.a $(LDLIBS)

# convenience link at the top of the tree (default build only)
lamina: $(BUILD)/lamina
	@if [ "$(BUILD)" = build ]; then ln -sf build/lamina lamina; fi

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/liblamina.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) $< -o $@ $(BUILD)/liblamina.a $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/liblamina.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $< -o $@ $(BUILD)/liblamina.a $(ALL_LDFLAGS) $(LDLIBS)

# examples use only the public headers
$(BUILD)/examples/%: examples/%.c $(BUILD)/liblamina.a
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(ALL_CFLAGS) $< -o $@ $(BUILD)/liblamina.a $(ALL_LDFLAGS) $(LDLIBS)

examples: $(EXAMPLE_BIN)

run: $(BUILD)/lamina
	$(BUILD)/lamina train configs/digits_mlp.cfg --out runs/digits_mlp

# tests/test_*.sh: tests of the build itself (make install into a temporary
# prefix); they get the sanitizer flags of make check for what they compile
TEST_SCRIPTS = $(wildcard tests/test_*.sh)
test: $(TEST_BIN) $(BUILD)/lamina $(BUILD)/liblamina.so $(EXAMPLE_BIN)
	@LAMINA=$(BUILD)/lamina TEST_CFLAGS="$(EXTRA_CFLAGS)" TEST_LDFLAGS="$(EXTRA_LDFLAGS)" \
	  sh tests/run.sh $(TEST_BIN) $(EXAMPLE_BIN) $(TEST_SCRIPTS)

check:
	$(MAKE) BUILD=build/check OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

bench: $(BENCH_BIN) $(BUILD)/lamina
	sh bench/run.sh $(BUILD)

# data parallelism against threads: an MPI build in build/mpi, then bench/mpi.sh
bench-mpi:
	$(MAKE) MPI=1 BUILD=build/mpi build/mpi/lamina build/mpi/bench/bench_allreduce
	sh bench/mpi.sh build/mpi

# ---- install: make install [PREFIX=/usr/local] [DESTDIR=/staging] ----
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# what a static link needs besides liblamina.a (lamina.pc's Libs.private)
LIBS_PRIVATE = $(strip $(OMPFLAG) $(LDLIBS) $(LIBS_MPI))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/lamina \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/lamina $(DESTDIR)$(BINDIR)/lamina
	install -m 644 $(BUILD)/liblamina.a $(DESTDIR)$(LIBDIR)/liblamina.a
	install -m 755 $(BUILD)/liblamina.so $(DESTDIR)$(LIBDIR)/liblamina.so.$(VERSION)
	ln -sf liblamina.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblamina.so
	install -m 644 include/lamina/*.h $(DESTDIR)$(INCLUDEDIR)/lamina/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' lamina.pc.in \
	    > $(DESTDIR)$(PKGCONFIGDIR)/lamina.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/lamina.pc
	install -m 644 docs/lamina.1 $(DESTDIR)$(MANDIR)/man1/lamina.1
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lamina $(DESTDIR)$(LIBDIR)/liblamina.a $(DESTDIR)$(LIBDIR)/liblamina.so \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/liblamina.so.$(VERSION) \
	  $(DESTDIR)$(PKGCONFIGDIR)/lamina.pc $(DESTDIR)$(MANDIR)/man1/lamina.1
	rm -f $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(wildcard include/lamina/*.h))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/lamina 2>/dev/null

clean:
	rm -rf build lamina runs

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ---- fuzzing: make fuzz [FUZZ_SECONDS=60] [FUZZ_JOBS=1] [FUZZ_NAMES="csv idx"] ----
# libFuzzer harnesses of every file reader (fuzz/fuzz_*.c, see fuzz/README.md),
# built with clang into build/fuzz/ against the library compiled apart with
# coverage instrumentation and ASan + UBSan, then run for FUZZ_SECONDS each on
# the seed corpus fuzz/corpus/NAME; prints one table, fails on a crash.
# Needs clang and its libFuzzer runtime (Debian: clang libclang-rt-14-dev).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_BUILD   ?= build/fuzz
FUZZ_NAMES   ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SAN     ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
                $(FPFLAGS) $(FUZZ_SAN) -Iinclude -Isrc -D_GNU_SOURCE
FUZZ_LIB_OBJ  = $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN      = $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_STAMP    = $(FUZZ_BUILD)/.flags

.PHONY: fuzz fuzz-build
fuzz:
	@sh fuzz/run.sh check $(FUZZ_CC)
	@$(MAKE) --no-print-directory fuzz-build FUZZ_NAMES="$(FUZZ_NAMES)"
	@sh fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_NAMES)

fuzz-build: $(FUZZ_BIN)

$(FUZZ_STAMP): FORCE
	@mkdir -p $(FUZZ_BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FUZZ_CC) $(FUZZ_CFLAGS)' ]; then echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@; fi

$(FUZZ_BUILD)/obj/%.o: %.c $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/liblamina.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_BUILD)/liblamina.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ $(FUZZ_BUILD)/liblamina.a -lz -lm

-include $(FUZZ_LIB_OBJ:.o=.d)
