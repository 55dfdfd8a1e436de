/* The kernel/user contract of otel-linnix's process events.
 *
 * Every record starts with a u32 type. Layouts are fixed-size, naturally aligned, no implicit
 * padding; otel_linnix/receivers/ebpf_process/contract.py mirrors them field by field and a test
 * checks the two agree (like Tetragon's alignchecker).
 */
#ifndef OTEL_LINNIX_PROCESS_EVENTS_H
#define OTEL_LINNIX_PROCESS_EVENTS_H

#define EVENT_FORK 1
#define EVENT_EXEC 2
#define EVENT_EXIT 3
#define EVENT_OOM 4

#define COMM_LEN 16
#define FILENAME_LEN 256
#define ARGS_LEN 4096 /* power of two: the verifier bounds reads with a mask */
#define TRACEPARENT_LEN 64  /* version 00 is 55 characters; longer values arrive cut, and fail */
#define TRACESTATE_LEN 256  /* W3C allows 512; a longer one arrives cut, and is dropped */
#define MEMCG_DEPTH 8       /* memory cgroup levels named, leaf first */
#define MEMCG_NAME_LEN 128  /* "cri-containerd-<64 hex>.scope" is 85 */

/* Slots of the per-CPU `lost` array. */
#define LOST_RINGBUF 0   /* neither ring buffer took a record */
#define LOST_LIFETIME 1  /* lifetime map full: a fork could not be remembered */
#define RESCUED 2        /* records `events` refused and `rescue` took: none lost */
#define LOST_SLOTS 3

struct fork_event {
    u32 type;
    u32 pid;               /* tgid of the new process */
    u32 ppid;              /* real_parent->tgid */
    u32 uid;
    u32 gid;
    u32 pad;
    u64 start_ns;          /* task->start_boottime */
    u64 parent_start_ns;   /* real_parent->start_boottime */
    u64 cgroup_id;
    char comm[COMM_LEN];
};

struct exec_event {
    u32 type;
    u32 pid;
    u32 uid;
    u32 args_len;          /* bytes of args used (NUL-separated) */
    u64 ts_ns;
    u64 start_ns;
    u32 args_truncated;
    u32 pad;
    /* The values of TRACEPARENT / TRACESTATE in the new image's environment (empty when
     * absent): only these two entries are ever copied, never the rest of the environment. */
    char traceparent[TRACEPARENT_LEN];
    char tracestate[TRACESTATE_LEN];
    char comm[COMM_LEN];
    char filename[FILENAME_LEN];
    char args[ARGS_LEN];   /* last: the record is cut after args_len bytes of it */
};

/* One complete lifetime, emitted when the last thread of the group exits. */
struct exit_event {
    u32 type;
    u32 pid;
    u32 ppid;              /* parent at fork time when the fork was seen, else real_parent now */
    u32 uid;
    u32 gid;
    u32 exit_code;         /* raw task exit_code: status << 8 | core 0x80 | signal */
    u64 start_ns;
    u64 parent_start_ns;
    u64 exit_ns;
    u64 utime_ns;
    u64 stime_ns;
    u64 cgroup_id;
    u32 threads;           /* threads created over the lifetime */
    u32 execs;
    u32 fork_seen;
    u32 oom_killed;        /* the OOM killer chose it (oom:mark_victim) */
    char comm[COMM_LEN];
};

/* The OOM killer chose a victim: its memory as the kernel counted it (kB, as the tracepoint
 * reports it). Sent when chosen, before its exit. */
struct oom_event {
    u32 type;
    u32 pid;
    u32 uid;
    s32 oom_score_adj;
    u64 ts_ns;
    u64 start_ns;          /* from the lifetime when its fork was seen, else 0 */
    u64 total_vm_kb;
    u64 anon_rss_kb;
    u64 file_rss_kb;
    u64 shmem_rss_kb;
    u64 pgtables_kb;
    /* The memory cgroup that ran out: the charging task's cgroup and its ancestors (names
     * leaf first, `memcg_levels` of them, the hierarchy's root not included). The lowest
     * limit on that chain is `limit_pages`, set at level `limit_level` (0: the leaf); no
     * limit anywhere (a host-wide OOM): limit_pages 0. */
    u64 limit_pages;
    u32 limit_level;
    u32 memcg_levels;      /* | 0x100 when the chain was deeper than MEMCG_DEPTH */
    char comm[COMM_LEN];
    char memcg[MEMCG_DEPTH][MEMCG_NAME_LEN];
};

#endif
