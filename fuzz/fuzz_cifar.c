/* Fuzz the CIFAR binary reader (src/data/cifar.c, gzsrc.c): the input is one
 * .bin file (plain or gzip), read as CIFAR-10, CIFAR-100 fine and CIFAR-100
 * coarse, and as CIFAR-10 twice in a row (two files concatenated).  Records
 * are 3073 / 3074 bytes, so run it with -max_len of a few records (fuzz/run.sh
 * does).  Accepted data sets must pass lam_dataset_check and hold a whole
 * number of records. */
#include "fuzz_common.h"

static void read_as(const char *const *paths, int n, lam_cifar_variant v, const uint8_t *data,
                    size_t size)
{
    lam_dataset *ds = (lam_dataset *)&ds;
    lam_status s = lam_cifar_read(paths, n, v, &ds);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_cifar_read");
        FZ_CHECK(ds == NULL, "failure left *out set");
        return;
    }
    FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "cifar returned a data set that fails the check: %s",
             lam_last_error());
    size_t rec = v == LAM_CIFAR_10 ? 3073 : 3074;
    FZ_CHECK(ds->n >= n && ds->nfeat == 3072 && ds->class_names, "shape of the set");
    bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!gz) FZ_CHECK((size_t)ds->n * rec == size * (size_t)n, "%lld records from %zu bytes", (long long)ds->n, size);
    fz_touch(ds->x, (size_t)ds->n * 3072 * sizeof(float));
    lam_dataset_free(ds);
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *p = fz_write("in.bin", data, size);
    const char *one[1] = {p}, *two[2] = {p, p};
    read_as(one, 1, LAM_CIFAR_10, data, size);
    read_as(one, 1, LAM_CIFAR_100_FINE, data, size);
    read_as(one, 1, LAM_CIFAR_100_COARSE, data, size);
    read_as(two, 2, LAM_CIFAR_10, data, size);
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
