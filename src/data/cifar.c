/* CIFAR-10 / CIFAR-100 binary reader: fixed-size records (label byte(s) then
 * 3x32x32 channel-major pixel bytes), plain or gzip through zlib, several
 * files concatenated into one classification lam_dataset with the standard
 * class names.  Memory grows only with the bytes actually read. */
#include "lamina/data.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/gzsrc.h"

#define CIFAR_PIXELS 3072 /* 3 x 32 x 32 */

static const char *const cifar10_classes[] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
};

static const char *const cifar100_coarse[] = {
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
};

/* fine and coarse names in the order of the data set's batches.meta (checked
 * against public copies of it) */
static const char *const cifar100_fine[] = {
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
};

_Static_assert(sizeof cifar10_classes / sizeof *cifar10_classes == 10, "CIFAR-10 names");
_Static_assert(sizeof cifar100_coarse / sizeof *cifar100_coarse == 20, "CIFAR-100 coarse");
_Static_assert(sizeof cifar100_fine / sizeof *cifar100_fine == 100, "CIFAR-100 fine");



/* Growable byte buffer of whole-file contents. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

/* Room for `more` bytes after b->n: exactly that much when `exact` (the size
 * is known), else doubling (gzip input of unknown length). */
static lam_status reserve(bytes *b, size_t more, bool exact, const char *path)
{
    size_t need;
    if (!lam_add_size(b->n, more, &need))
        return lam_fail(LAM_ERR_NOMEM, "%s: data too large for memory", path);
    if (need <= b->cap) return LAM_OK;
    size_t nc = exact ? need : b->cap ? b->cap : (size_t)1 << 16;
    while (nc < need) nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    unsigned char *q = lam_realloc(b->p, b->n, nc);
    if (!q) return LAM_ERR_NOMEM;
    b->p = q;
    b->cap = nc;
    return LAM_OK;
}

/* Append all bytes of `path` (plain or gzip) to b; *gzip tells whether it
 * was compressed.  A plain file whose size is not a whole number of `rec`
 * byte records fails before anything is allocated for it. */
static lam_status read_file(const char *path, size_t rec, bytes *b, bool *gzip)
{
    lam_gzsrc s;
    lam_status st = lam_gzsrc_open(&s, path, "name the .bin files in it");
    if (st != LAM_OK) return st;
    lam_gzsrc_probe(&s);
    *gzip = s.gzip;
    bool exact = !s.gzip && s.fsize >= 0;
    if (exact && (uint64_t)s.fsize % rec != 0) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: byte offset %llu: partial record: %lld bytes is not a whole number "
                      "of %zu-byte records; hint: the file is truncated, or it belongs to the "
                      "other CIFAR variant (CIFAR-10 records have 1 label byte, CIFAR-100 "
                      "records 2)",
                      path, (unsigned long long)((uint64_t)s.fsize / rec * rec), (long long)s.fsize, rec);
        goto done;
    }
    if ((st = reserve(b, exact ? (size_t)s.fsize : rec * 64, exact, path)) != LAM_OK) goto done;
    for (;;) {
        size_t got;
        if (b->n == b->cap) {
            /* full: read one byte to learn whether more comes before growing */
            unsigned char probe;
            if ((st = lam_gzsrc_read(&s, &probe, 1, &got)) != LAM_OK || got == 0) break;
            if ((st = reserve(b, rec * 64, false, path)) != LAM_OK) break;
            b->p[b->n++] = probe;
            continue;
        }
        size_t room = b->cap - b->n;
        if ((st = lam_gzsrc_read(&s, b->p + b->n, room, &got)) != LAM_OK) break;
        b->n += got;
        if (got < room) break; /* the end of the data */
    }
done:
    lam_gzsrc_close(&s);
    return st;
}

lam_status lam_cifar_read(const char *const *paths, int npaths, lam_cifar_variant variant,
                          lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_cifar_read: out is NULL");
    *out = NULL;
    if (!paths || npaths < 1)
        return lam_fail(LAM_ERR_ARG, "lam_cifar_read: needs at least one file (npaths = %d)",
                        npaths);
    for (int i = 0; i < npaths; i++)
        if (!paths[i]) return lam_fail(LAM_ERR_ARG, "lam_cifar_read: paths[%d] is NULL", i);
    if (variant != LAM_CIFAR_10 && variant != LAM_CIFAR_100_FINE &&
        variant != LAM_CIFAR_100_COARSE)
        return lam_fail(LAM_ERR_ARG, "lam_cifar_read: unknown variant %d", (int)variant);
    bool c10 = variant == LAM_CIFAR_10;
    size_t nlab = c10 ? 1 : 2, rec = nlab + CIFAR_PIXELS;
    int32_t nclasses = c10 ? 10 : variant == LAM_CIFAR_100_FINE ? 100 : 20;
    const char *const *names = c10 ? cifar10_classes
                               : variant == LAM_CIFAR_100_FINE ? cifar100_fine
                                                               : cifar100_coarse;
    bytes b = {0};
    lam_dataset *ds = NULL;
    lam_status st = LAM_OK;
    /* one buffer for all files, sized from their sizes on disk, so that
     * appending file after file does not copy; only sizes that are whole
     * numbers of records count (plain files that will pass the check) */
    size_t disk = 0;
    for (int f = 0; f < npaths; f++) {
        struct stat sb;
        if (stat(paths[f], &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
            (uint64_t)sb.st_size % rec == 0 && (uint64_t)sb.st_size <= SIZE_MAX - disk)
            disk += (size_t)sb.st_size;
    }
    if (disk && (st = reserve(&b, disk, true, paths[0])) != LAM_OK) goto done;
    for (int f = 0; f < npaths; f++) {
        size_t start = b.n;
        bool gz = false;
        if ((st = read_file(paths[f], rec, &b, &gz)) != LAM_OK) goto done;
        size_t got = b.n - start;
        const char *unc = gz ? " (uncompressed)" : "";
        if (got == 0) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: byte offset 0: empty file, no CIFAR records; hint: the file is "
                          "truncated or not a CIFAR .bin file",
                          paths[f]);
            goto done;
        }
        if (got % rec != 0) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: byte offset %zu%s: partial record: %zu bytes is not a whole "
                          "number of %zu-byte records; hint: the file is truncated, or it "
                          "belongs to the other CIFAR variant (CIFAR-10 records have 1 label "
                          "byte, CIFAR-100 records 2)",
                          paths[f], got / rec * rec, unc, got, rec);
            goto done;
        }
        for (size_t r = 0; r < got / rec; r++) {
            const unsigned char *p = b.p + start + r * rec;
            for (size_t k = 0; k < nlab; k++) {
                int lim = c10 ? 10 : k == 0 ? 20 : 100;
                if (p[k] >= lim) {
                    st = lam_fail(LAM_ERR_FORMAT,
                                  "%s: byte offset %zu%s: %slabel %d of record %zu is outside "
                                  "[0, %d); hint: not a %s file, or the wrong variant",
                                  paths[f], r * rec + k, unc,
                                  c10 ? "" : k == 0 ? "coarse " : "fine ", p[k], r, lim,
                                  c10 ? "CIFAR-10" : "CIFAR-100");
                    goto done;
                }
            }
        }
        if ((int64_t)(b.n / rec) > LAM_DATASET_MAX_ROWS) {
            st = lam_fail(LAM_ERR_FORMAT, "%s: more than %lld records in all", paths[f],
                          (long long)LAM_DATASET_MAX_ROWS);
            goto done;
        }
    }
    int64_t n = (int64_t)(b.n / rec);
    if ((st = lam_dataset_new(LAM_TASK_CLASSIFICATION, n, CIFAR_PIXELS, nclasses, &ds)) != LAM_OK)
        goto done;
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = b.p + (size_t)i * rec;
        float *x = ds->x + i * CIFAR_PIXELS;
        ds->labels[i] = variant == LAM_CIFAR_100_COARSE ? p[0] : p[nlab - 1];
        for (int j = 0; j < CIFAR_PIXELS; j++) x[j] = (float)p[nlab + (size_t)j] / 255.0f;
    }
    if ((st = lam_dataset_set_sample_shape(ds, lam_shape3(3, 32, 32))) != LAM_OK) goto done;
    st = lam_dataset_set_class_names(ds, names);
done:
    lam_free(b.p);
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return st;
    }
    *out = ds;
    return LAM_OK;
}
