/* Process-spawning workloads for the benchmark; compiled by bench/workloads at bench time.
 *
 *   forkstorm fork SECONDS RATE   fork children that exit at once, for SECONDS, at RATE per
 *                                 second (0: as fast as the machine goes)
 *   forkstorm exec COUNT          COUNT children that each exec this program ("noop") and exit
 *   forkstorm noop                exit 0 (what the exec storm's children run)
 *
 * Prints one JSON line: its pid, how many children it created, and when it started / ended
 * (CLOCK_REALTIME ns) — the ground truth the capture ratio is measured against.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Fork one child running `child` (NULL: exit at once) and reap it; 1 if it was created. */
static int spawn(const char *self, int do_exec) {
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (do_exec) {
            execl(self, "forkstorm", "noop", (char *)NULL);
            _exit(127);
        }
        _exit(0);
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return 1;
}

static void report(const char *mode, long long created, long long start, long long end) {
    printf("{\"mode\": \"%s\", \"pid\": %d, \"created\": %lld, \"start_ns\": %lld, "
           "\"end_ns\": %lld}\n", mode, (int)getpid(), created, start, end);
    fflush(stdout);
}

static int fork_storm(double seconds, double rate) {
    long long start = now_ns(CLOCK_REALTIME), mono0 = now_ns(CLOCK_MONOTONIC);
    long long stop = mono0 + (long long)(seconds * 1e9), created = 0, t;
    while ((t = now_ns(CLOCK_MONOTONIC)) < stop) {
        if (rate > 0) {
            long long due = mono0 + (long long)(created * 1e9 / rate);
            if (t < due) {
                struct timespec ts = {0, due - t > 1000000 ? 1000000 : due - t};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        created += spawn(NULL, 0);
    }
    report("fork", created, start, now_ns(CLOCK_REALTIME));
    return 0;
}

static int exec_storm(const char *self, long long count) {
    long long start = now_ns(CLOCK_REALTIME), created = 0;
    for (long long i = 0; i < count; i++)
        created += spawn(self, 1);
    report("exec", created, start, now_ns(CLOCK_REALTIME));
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "noop") == 0)
        return 0;
    if (argc == 4 && strcmp(argv[1], "fork") == 0)
        return fork_storm(atof(argv[2]), atof(argv[3]));
    if (argc == 3 && strcmp(argv[1], "exec") == 0)
        return exec_storm("/proc/self/exe", atoll(argv[2]));
    fprintf(stderr, "usage: forkstorm fork SECONDS RATE | exec COUNT | noop\n");
    return 2;
}
