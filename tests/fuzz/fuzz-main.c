/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzzer inputs without libFuzzer (any compiler), as systemd's
 * fuzz-main.c does: every argument is a file or a directory of files, each
 * fed once to LLVMFuzzerTestOneInput. Used for the fuzz-regress suite; every
 * crash input found by a fuzzing run gets committed to the corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        struct stat st;
        uint8_t *buf;
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -1;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                abort();
        n = read(fd, buf, (size_t) st.st_size);
        close(fd);
        if (n < 0) {
                free(buf);
                return -1;
        }
        (void) LLVMFuzzerTestOneInput(buf, (size_t) n);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        unsigned count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return EXIT_FAILURE;
                }
                if (S_ISDIR(st.st_mode)) {
                        struct dirent **list;
                        int n = scandir(argv[i], &list, NULL, alphasort);

                        if (n < 0)
                                return EXIT_FAILURE;
                        for (int j = 0; j < n; j++) {
                                char path[4096];

                                if (list[j]->d_name[0] != '.') {
                                        (void) snprintf(path, sizeof path, "%s/%s", argv[i], list[j]->d_name);
                                        if (run_file(path) < 0)
                                                return EXIT_FAILURE;
                                        count++;
                                }
                                free(list[j]);
                        }
                        free(list);
                } else {
                        if (run_file(argv[i]) < 0)
                                return EXIT_FAILURE;
                        count++;
                }
        }
        fprintf(stderr, "%u inputs replayed\n", count);
        return count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
