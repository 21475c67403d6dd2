/* SPDX-License-Identifier: MIT */
/*
 * A program for the fix runner's tests to run as a fix step. Its arguments
 * are commands done in order:
 *   print TEXT     TEXT and a newline on stdout
 *   stderr TEXT    the same on stderr
 *   spew N         N bytes of 'x' on stdout, then "<END>\n"
 *   cwd            the working directory
 *   env            every environment entry, one a line
 *   nofile         the soft and hard RLIMIT_NOFILE, "SOFT HARD"
 *   sigmask        "blocked" if any signal is blocked, else "clear"
 *   pidfile PATH   writes its pid to PATH
 *   ignore-term    ignores SIGTERM from now on
 *   sleep MS       sleeps
 *   exit N         exits with N
 *   raise SIG      kills itself with signal number SIG
 * and then exits 0. Not linked with anything of appwatch.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IONBF, 0);
        for (int i = 1; i < argc; i++) {
                const char *c = argv[i], *a = i + 1 < argc ? argv[i + 1] : "";

                if (strcmp(c, "print") == 0) {
                        printf("%s\n", a);
                        i++;
                } else if (strcmp(c, "stderr") == 0) {
                        fprintf(stderr, "%s\n", a);
                        i++;
                } else if (strcmp(c, "spew") == 0) {
                        for (long n = atol(a); n > 0; n--)
                                putchar('x');
                        printf("<END>\n");
                        i++;
                } else if (strcmp(c, "cwd") == 0) {
                        char buf[4096];

                        printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
                } else if (strcmp(c, "env") == 0) {
                        for (char **e = environ; *e; e++)
                                printf("%s\n", *e);
                } else if (strcmp(c, "nofile") == 0) {
                        struct rlimit rl;

                        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                                return 90;
                        printf("%llu %llu\n", (unsigned long long) rl.rlim_cur,
                               (unsigned long long) rl.rlim_max);
                } else if (strcmp(c, "sigmask") == 0) {
                        sigset_t ss;
                        int blocked = 0;

                        sigprocmask(SIG_SETMASK, NULL, &ss);
                        for (int s = 1; s < NSIG; s++)
                                if (sigismember(&ss, s) == 1)
                                        blocked = 1;
                        printf("%s\n", blocked ? "blocked" : "clear");
                } else if (strcmp(c, "pidfile") == 0) {
                        FILE *f = fopen(a, "we");

                        if (!f)
                                return 91;
                        fprintf(f, "%d\n", (int) getpid());
                        fclose(f);
                        i++;
                } else if (strcmp(c, "ignore-term") == 0) {
                        signal(SIGTERM, SIG_IGN);
                } else if (strcmp(c, "sleep") == 0) {
                        long ms = atol(a);
                        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

                        while (nanosleep(&ts, &ts) < 0)
                                ;
                        i++;
                } else if (strcmp(c, "exit") == 0) {
                        return atoi(a);
                } else if (strcmp(c, "raise") == 0) {
                        signal(atoi(a), SIG_DFL);
                        raise(atoi(a));
                        return 92;
                } else {
                        fprintf(stderr, "fix-runner-helper: unknown command '%s'\n", c);
                        return 99;
                }
        }
        return 0;
}
